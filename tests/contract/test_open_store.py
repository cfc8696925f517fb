"""Choosing the store backend from a database URL."""

from __future__ import annotations

import sys

import pytest

from vecron.errors import ConfigurationError
from vecron.store import DEFAULT_URL, open_store
from vecron.store.sql import SqlStore


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite+aiosqlite:///tmp/v.db", "sqlite+aiosqlite:///tmp/v.db"),
        ("sqlite:///tmp/v.db", "sqlite+aiosqlite:///tmp/v.db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_known_schemes_open_the_sql_store(url: str, expected: str) -> None:
    store = open_store(url)
    assert isinstance(store, SqlStore)
    assert store.url == expected


def test_the_default_url_is_sqlite() -> None:
    assert open_store(DEFAULT_URL).url.startswith("sqlite+aiosqlite:///")


@pytest.mark.parametrize("url", ["mysql://root@h/db", "redis://h", "vecron.db", ""])
def test_an_unknown_scheme_is_a_configuration_error_naming_the_url(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        open_store(url)
    assert repr(url) in caught.value.message
    assert caught.value.exit_code == 78


def test_the_error_does_not_show_the_password() -> None:
    with pytest.raises(ConfigurationError) as caught:
        open_store("mysql://root:hunter2@db.example/vecron")
    assert "hunter2" not in caught.value.one_line()
    assert "db.example" in caught.value.one_line()


def test_postgresql_without_asyncpg_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "asyncpg", None)  # makes `import asyncpg` fail
    with pytest.raises(ConfigurationError) as caught:
        open_store("postgresql+asyncpg://postgres@127.0.0.1/vecron")
    assert "install vecron-core[postgres]" in caught.value.one_line()
    assert "postgresql+asyncpg://postgres@127.0.0.1/vecron" in caught.value.one_line()

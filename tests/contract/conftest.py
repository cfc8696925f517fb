"""Database fixtures for the store contract suite: every test gets a fresh database.

``store_url`` is parametrized over SQLite (a new file in ``tmp_path``) and PostgreSQL
(a new, uniquely named database on ``VECRON_TEST_POSTGRES_URL``, default
``postgresql+asyncpg://postgres@127.0.0.1:5432/``, dropped afterwards). PostgreSQL
being unreachable fails the test; it is never skipped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from tests.support.pg_fixtures import postgresql_url  # noqa: F401  (a fixture)
from vecron.store.sql import SqlStore

POSTGRES_URL_ENV = "VECRON_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/"

StoreFactory = Callable[[], Awaitable[SqlStore]]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'vecron.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
async def store_factory(store_url: str) -> AsyncIterator[StoreFactory]:
    """Opens (and later closes) more stores — separate engines — on the same database."""
    opened: list[SqlStore] = []

    async def open_one() -> SqlStore:
        store = SqlStore(store_url)
        await store.start()
        opened.append(store)
        await store.upgrade()
        return store

    yield open_one
    for store in opened:
        await store.close()


@pytest.fixture
async def store(store_factory: StoreFactory) -> SqlStore:
    return await store_factory()

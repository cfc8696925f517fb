"""A database the store cannot reach is named in the error, without its password."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy.engine import make_url

from tests.support.pg_fixtures import DEFAULT_POSTGRES_URL
from vecron.errors import BackendUnavailable
from vecron.store.sql import SqlStore

PASSWORD = "Pw-n0t-in-any-message"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    "url",
    [
        # Nobody listens.
        f"postgresql+asyncpg://postgres:{PASSWORD}@127.0.0.1:{closed_port()}/vecron",
        # The server answers; the database does not exist.
        make_url(DEFAULT_POSTGRES_URL)
        .set(password=PASSWORD, database="vecron_no_such_database")
        .render_as_string(hide_password=False),
    ],
    ids=["nobody-listens", "no-such-database"],
)
async def test_upgrade_names_the_unreachable_database_without_its_password(url: str) -> None:
    store = SqlStore(url)
    await store.start()
    try:
        with pytest.raises(BackendUnavailable) as raised:
            await store.upgrade()
    finally:
        await store.close()
    message = raised.value.one_line()
    assert "cannot reach the database at postgresql+asyncpg://postgres:***@" in message
    assert PASSWORD not in message
    assert raised.value.field == "database_url"

"""Database fixtures for the store contract suite: every test gets a fresh database.

``store_url`` is parametrized over SQLite (a new file in ``tmp_path``) and PostgreSQL
(a new, uniquely named database on ``VECRON_TEST_POSTGRES_URL``, default
``postgresql+asyncpg://postgres@127.0.0.1:5432/``, dropped afterwards). PostgreSQL
being unreachable fails the test; it is never skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from vecron.store.sql import SqlStore

POSTGRES_URL_ENV = "VECRON_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/"

StoreFactory = Callable[[], Awaitable[SqlStore]]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'vecron.db'}"


@pytest.fixture
async def postgresql_url() -> AsyncIterator[str]:
    server = make_url(os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL))
    shown = server.render_as_string(hide_password=True)
    name = f"vecron_test_{uuid.uuid4().hex[:16]}"
    admin = create_async_engine(
        server.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    try:
        try:
            async with admin.connect() as conn:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:  # refused, auth, DNS...: all mean no usable server
            pytest.fail(
                f"PostgreSQL at {shown} is not usable ({type(exc).__name__}: {exc}); "
                f"start it or point {POSTGRES_URL_ENV} at one",
                pytrace=False,
            )
        yield server.set(database=name).render_as_string(hide_password=False)
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


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

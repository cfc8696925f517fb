"""A fresh PostgreSQL database per test, on ``VECRON_TEST_POSTGRES_URL`` (default
``postgresql+asyncpg://postgres@127.0.0.1:5432/``), dropped afterwards. An unreachable
server fails the test; it is never skipped."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

POSTGRES_URL_ENV = "VECRON_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/"


async def admin_statement(server: str, statement: str) -> None:
    """Run ``statement`` (CREATE/DROP DATABASE) on ``server``'s ``postgres`` database."""
    admin = create_async_engine(
        make_url(server).set(database="postgres"),
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
    )
    try:
        async with admin.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await admin.dispose()


async def create_database(server: str, name: str) -> None:
    await admin_statement(server, f'CREATE DATABASE "{name}"')


async def drop_database(server: str, name: str) -> None:
    await admin_statement(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def postgresql_url() -> AsyncIterator[str]:
    server = make_url(os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL))
    shown = server.render_as_string(hide_password=True)
    address = server.render_as_string(hide_password=False)
    name = f"vecron_test_{uuid.uuid4().hex[:16]}"
    try:
        await create_database(address, name)
    except Exception as exc:  # refused, auth, DNS...: all mean no usable server
        pytest.fail(
            f"PostgreSQL at {shown} is not usable ({type(exc).__name__}: {exc}); "
            f"start it or point {POSTGRES_URL_ENV} at one",
            pytrace=False,
        )
    yield server.set(database=name).render_as_string(hide_password=False)
    await drop_database(address, name)

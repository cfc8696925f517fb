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

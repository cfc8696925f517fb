"""Fixtures of the core tests."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pluggy
import pytest
import structlog

# The store contract suite's database per test, on SQLite and on PostgreSQL.
from tests.contract.conftest import sqlite_url, store_url  # noqa: F401  (fixtures)
from tests.support.pg_fixtures import postgresql_url  # noqa: F401  (a fixture)
from vecron.runtime import Runtime
from vecron.settings import Settings
from vecron.telemetry import configure_logging


@pytest.fixture
async def rt(
    store_url: str,  # noqa: F811
    tmp_path: Path,
    test_pm: pluggy.PluginManager,
) -> AsyncIterator[Runtime]:
    """A runtime with the test executors on a fresh database, SQLite and PostgreSQL."""
    settings = Settings(database_url=store_url, storage_url=f"file://{tmp_path}/storage", port=0)
    async with Runtime(settings, pm=test_pm) as runtime:
        yield runtime


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the logging writes while the test runs: JSON lines, debug and up."""
    stream = io.StringIO()
    configure_logging("debug", "json", stream=stream)
    yield stream
    structlog.reset_defaults()

"""Real servers for the ``database`` tests: every backend test runs on PostgreSQL,
MariaDB and SQLite. An unreachable server fails the test; it is never skipped.

PostgreSQL: a database of its own for the test session, dropped at the end. MariaDB:
database ``test``, tables with a unique prefix per test, dropped after it. SQLite: a
file in the test's temporary folder.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from tests.support.pg_fixtures import create_database, drop_database
from vecron.plugin.executor import StepContext
from vecron.storage.file import FileStorage
from vecron.testing.step_contexts import make_step_context
from vecron_database import DatabaseExecutor

POSTGRES = os.environ.get("VECRON_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/")
MARIADB = os.environ.get("VECRON_TEST_MARIADB_DSN", "mysql://root@127.0.0.1:3306/test")
BACKENDS = ["postgresql", "mariadb", "sqlite"]

#: A statement that runs for about five seconds (SQLite: a long recursive count).
SLOW_SQL = {
    "postgresql": "SELECT pg_sleep(5)",
    "mariadb": "SELECT SLEEP(5)",
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
    "WHERE x < 200000000) SELECT count(*) FROM c",
}
#: One that runs for a minute or more: for cancellation.
VERY_SLOW_SQL = {
    "postgresql": "SELECT pg_sleep(60)",
    "mariadb": "SELECT SLEEP(60)",
    "sqlite": SLOW_SQL["sqlite"].replace("200000000", "5000000000"),
}


def _async(dsn: str) -> str:
    url = make_url(dsn)
    driver = {"postgresql": "postgresql+asyncpg", "mysql": "mysql+aiomysql"}[url.drivername]
    return url.set(drivername=driver).render_as_string(hide_password=False)


def _in_thread(work: Coroutine[Any, Any, None]) -> None:
    # Session set-up may be asked for while a test's event loop runs: a loop of its own.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, work).result()


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A PostgreSQL database for this test session (``postgresql://…/vecron_db_…``)."""
    name = f"vecron_db_{uuid.uuid4().hex[:12]}"
    try:
        _in_thread(create_database(_async(POSTGRES), name))
    except Exception as exc:  # refused, auth, DNS...: all mean no usable server
        pytest.fail(f"PostgreSQL at {POSTGRES} is not usable: {exc}", pytrace=False)
    yield make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    _in_thread(drop_database(_async(POSTGRES), name))


@dataclass
class Backend:
    """One database server, as a test sees it."""

    name: str
    #: The DSN a step is given (plain scheme: vecron picks the async driver).
    dsn: str
    engine: AsyncEngine
    prefix: str
    created: list[str] = field(default_factory=list)

    @property
    def slow_sql(self) -> str:
        return SLOW_SQL[self.name]

    def table(self, base: str = "t") -> str:
        """A table name unique to this test, dropped after it."""
        name = f"{self.prefix}_{base}"
        self.created.append(name)
        return name

    async def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(text(sql), params or {})

    async def fetch(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        async with self.engine.connect() as conn:
            return [tuple(row) for row in await conn.execute(text(sql), params or {})]

    async def has_table(self, name: str) -> bool:
        async with self.engine.connect() as conn:
            return await conn.run_sync(lambda sync: inspect(sync).has_table(name))

    async def create(self, base: str = "t", columns: str = "id INTEGER, v VARCHAR(200)") -> str:
        name = self.table(base)
        await self.execute(f"CREATE TABLE {name} ({columns})")
        return name

    async def drop_created(self) -> None:
        for name in reversed(self.created):
            await self.execute(f"DROP TABLE IF EXISTS {name}")


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """Each test that takes it runs on PostgreSQL, MariaDB and SQLite."""
    name: str = request.param
    if name == "postgresql":
        dsn: str = request.getfixturevalue("postgres_dsn")
    elif name == "mariadb":
        dsn = MARIADB
    else:
        dsn = f"sqlite:///{tmp_path}/target.db"
    url = _async(dsn) if name != "sqlite" else dsn.replace("sqlite://", "sqlite+aiosqlite://")
    engine = create_async_engine(url, poolclass=NullPool)
    state = Backend(name, dsn, engine, f"vx_{uuid.uuid4().hex[:10]}")
    try:
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:
            pytest.fail(f"{name} at {dsn} is not usable: {exc}", pytrace=False)
        yield state
        await state.drop_created()
    finally:
        await engine.dispose()


@pytest.fixture
async def executor() -> AsyncIterator[DatabaseExecutor]:
    instance = DatabaseExecutor()
    async with AsyncExitStack() as stack:
        await instance.start(stack)
        yield instance


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[FileStorage]:
    store = FileStorage((tmp_path / "storage").as_uri())
    await store.start()
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
def ctx(storage: FileStorage) -> StepContext:
    """A step context whose files live in a temporary FileStorage."""
    return make_step_context(storage)

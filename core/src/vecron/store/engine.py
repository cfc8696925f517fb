"""Async engines for the store, with SQLite set up for several writers.

SQLite: WAL (readers never block the writer), a 30 s busy timeout, ``synchronous=NORMAL``
(durable at checkpoints, safe in WAL), set on every new connection. The driver's own
transaction handling is switched off and SQLAlchemy emits ``BEGIN`` itself: write
transactions start with ``BEGIN IMMEDIATE`` so they take the write lock up front and
wait (busy timeout) instead of failing with "database is locked" when a read lock
would have to be upgraded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from vecron.statefiles import create_private_file

SQLITE_BUSY_TIMEOUT_MS = 30_000
#: Execution option naming how the SQLite ``BEGIN`` of a transaction locks.
BEGIN_MODE_OPTION = "vecron_sqlite_begin"
POSTGRES_POOL_SIZE = 10
POSTGRES_MAX_OVERFLOW = 10


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def sqlite_file(url: URL) -> Path | None:
    """The database file, or None for an in-memory database."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Autocommit at the driver level: BEGIN comes from _on_sqlite_begin instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # busy_timeout first so that switching to WAL waits for a concurrent opener.
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _on_sqlite_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get(BEGIN_MODE_OPTION, "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def create_engine(url: URL) -> AsyncEngine:
    """An engine for ``url``; SQLite connections get the pragmas and BEGIN handling."""
    if is_sqlite(url):
        path = sqlite_file(url)
        if path is not None:
            # SQLite would create it 0644 (and its -wal and -shm files like it).
            create_private_file(path)
        engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
        event.listen(engine.sync_engine, "begin", _on_sqlite_begin)
        return engine
    return create_async_engine(
        url,
        pool_size=POSTGRES_POOL_SIZE,
        max_overflow=POSTGRES_MAX_OVERFLOW,
        pool_pre_ping=True,
    )


def writer(engine: AsyncEngine) -> AsyncEngine:
    """The same pool, but transactions begin with ``BEGIN IMMEDIATE`` on SQLite."""
    if is_sqlite(engine.url):
        return engine.execution_options(**{BEGIN_MODE_OPTION: "IMMEDIATE"})
    return engine

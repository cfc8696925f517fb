"""The Alembic migrations build exactly the tables and indexes ``schema.py`` queries,
on SQLite and PostgreSQL: a table added to one and not the other (as the audit log
could have been) fails here, not in production."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from vecron.store.schema import metadata
from vecron.store.sql import SqlStore


def _differences(connection: Connection) -> list[Any]:
    # Types are left out: UtcDateTime is text on SQLite by design (vecron.store.timestamp).
    context = MigrationContext.configure(connection, opts={"compare_type": False})
    return list(compare_metadata(context, metadata))


def _audit_indexes(connection: Connection) -> set[str]:
    return {str(index["name"]) for index in inspect(connection).get_indexes("audit_log")}


async def test_migrations_match_the_schema(store: SqlStore, store_url: str) -> None:
    engine = create_async_engine(store_url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
            assert await conn.run_sync(_audit_indexes) == {
                "ix_audit_log_at",
                "ix_audit_log_resource_at",
                "ix_audit_log_actor_at",
            }
    finally:
        await engine.dispose()

"""Alembic environment: runs on the connection :func:`vecron.store.migrate.upgrade` passes.

There is no ``alembic.ini``; the store builds the configuration in code and hands over
a connection already inside its transaction, so migrating is atomic with the version
stamp and serialised against other processes.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("vecron migrations run through SqlStore.upgrade(), not the alembic CLI")
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("vecron migrations do not support offline (SQL script) mode")
run_migrations_online()

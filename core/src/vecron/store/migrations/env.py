"""Alembic environment: runs on the connection :func:`vecron.store.migrate.upgrade_to_head`
passes.

There is no ``alembic.ini``; the store builds the configuration in code and hands over
a connection already inside its transaction, so migrating is atomic with the version
stamp and serialised against other processes.
"""

from __future__ import annotations

from vecron.store.migrate import run_migrations

run_migrations()

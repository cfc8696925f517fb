"""Apply the packaged Alembic migrations, without an ``alembic.ini``.

Core's migrations and every plugin's (``vecron_register_migrations``) run the same way:
each set has its own script location and its own version table, so a plugin's history
never mixes with core's, and all of them run in the one transaction of
:meth:`vecron.store.Store.upgrade`.
"""

from __future__ import annotations

from importlib import resources

from alembic import command, context
from alembic.config import Config
from sqlalchemy.engine import Connection

from vecron.plugin.migrations import MigrationSource

#: Core's own migrations; their version table keeps Alembic's default name.
CORE = MigrationSource("vecron", "vecron.store", "migrations", "alembic_version")


def upgrade_to_head(connection: Connection, source: MigrationSource = CORE) -> None:
    """Run ``alembic upgrade head`` for ``source`` on ``connection`` (inside its open
    transaction)."""
    with resources.as_file(resources.files(source.package) / source.directory) as location:
        config = Config()
        config.set_main_option("script_location", str(location))
        config.set_main_option("path_separator", "os")
        config.attributes["connection"] = connection
        config.attributes["version_table"] = source.table
        command.upgrade(config, "head")


def run_migrations() -> None:
    """The body of every ``env.py``: run on the connection :func:`upgrade_to_head`
    passed, stamping the source's version table. There is no ``alembic.ini`` and no
    offline mode."""
    if context.is_offline_mode():
        raise RuntimeError("vecron migrations do not support offline (SQL script) mode")
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("vecron migrations run through Store.upgrade(), not the alembic CLI")
    context.configure(
        connection=connection,
        target_metadata=None,
        version_table=context.config.attributes.get("version_table", "alembic_version"),
    )
    with context.begin_transaction():
        context.run_migrations()

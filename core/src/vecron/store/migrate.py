"""Apply the packaged Alembic migrations, without an ``alembic.ini``."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

MIGRATIONS_PACKAGE = "vecron.store"
MIGRATIONS_DIRECTORY = "migrations"


def upgrade_to_head(connection: Connection) -> None:
    """Run ``alembic upgrade head`` on ``connection`` (inside its open transaction)."""
    with resources.as_file(
        resources.files(MIGRATIONS_PACKAGE) / MIGRATIONS_DIRECTORY
    ) as script_location:
        config = Config()
        config.set_main_option("script_location", str(script_location))
        config.set_main_option("path_separator", "os")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

"""A plugin's own database migrations, as registered (``vecron_register_migrations``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MigrationSource:
    """One set of Alembic migrations: ``package`` holds the folder ``directory`` (with an
    ``env.py`` calling ``vecron.run_migrations()`` and a ``versions/`` folder); its
    revisions are stamped in their own version table."""

    name: str
    package: str
    directory: str = "migrations"
    version_table: str = ""

    @property
    def table(self) -> str:
        return self.version_table or f"alembic_version_{self.name}"

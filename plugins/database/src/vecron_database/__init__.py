"""Database executor plugin: the ``database`` step type (S4.2).

SQL on PostgreSQL, MySQL/MariaDB, SQLite and Oracle through SQLAlchemy's asyncio layer,
with every value bound, never spliced into the SQL text.
"""

from __future__ import annotations

from vecron import Registry, hookimpl

from .config import DatabaseConfig, Procedure
from .executor import DatabaseExecutor

__all__ = ["DatabaseConfig", "DatabaseExecutor", "Procedure", "vecron_register_executors"]


@hookimpl
def vecron_register_executors(register: Registry) -> None:
    register.add_executor(DatabaseExecutor)

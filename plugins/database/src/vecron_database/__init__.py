"""SQL executor for vecron: PostgreSQL, MySQL/MariaDB, SQLite and Oracle through SQLAlchemy async, values always bound."""

from __future__ import annotations

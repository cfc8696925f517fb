"""The `sql` step type: SQL on PostgreSQL, MySQL/MariaDB, SQLite and Oracle (S4.2)."""

from __future__ import annotations

"""Aware-UTC timestamps that round-trip to the microsecond on SQLite and PostgreSQL.

SQLite has no time zone type: values are stored as naive UTC text in one fixed format,
``YYYY-MM-DD HH:MM:SS.ffffff`` (the format SQLAlchemy's SQLite ``DATETIME`` uses), so
text comparison is time comparison. PostgreSQL uses ``timestamptz``. Either way Python
sees aware UTC datetimes equal to the microsecond to what was written — the idempotency
key and the conditional ``next_fire_at = expected`` update rely on it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.types import DateTime, String, TypeDecorator, TypeEngine


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp column that only accepts aware datetimes and returns aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            # Formatting and parsing here with the C isoformat functions is several
            # times faster than SQLAlchemy's generic SQLite DATETIME processors, and
            # the hot path binds tens of thousands of timestamps per batch.
            return dialect.type_descriptor(String())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            # A naive value would silently be read as UTC and shift by the local offset.
            raise ValueError(f"naive datetime {value!r} given to the store; use aware UTC")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None).isoformat(" ", "microseconds")
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if not isinstance(value, datetime):
            raise TypeError(f"unexpected timestamp value {value!r}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

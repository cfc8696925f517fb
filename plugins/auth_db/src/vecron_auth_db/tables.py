"""The backend's tables (created by its own migrations, ``migrations/versions``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out: SQLite keeps naive UTC text, PostgreSQL timestamptz."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}; use aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


metadata = MetaData()

users = Table(
    "auth_users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("password_hash", String(512), nullable=False),
    Column("roles", JSON, nullable=False),
    Column("disabled", Boolean, nullable=False),
    # Raised when the password changes or the user is disabled: access tokens carry
    # the generation they were issued under, so older ones stop at once.
    Column("token_generation", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("name", name="uq_auth_users_name"),
)

roles = Table(
    "auth_roles",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("permissions", JSON, nullable=False),
    Column("description", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

refresh_tokens = Table(
    "auth_refresh_tokens",
    metadata,
    Column("id", String(36), primary_key=True),
    # Only the SHA-256 of the token is kept: a database dump gives no usable token.
    Column("token_hash", String(64), nullable=False),
    Column("user_id", String(36), nullable=False),
    Column("family", String(36), nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    Column("replaced_by", String(36)),
    UniqueConstraint("token_hash", name="uq_auth_refresh_tokens_hash"),
)

signing_keys = Table(
    "auth_signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    # The key sealed with vecron's secret keys (AuthServices.secrets).
    Column("sealed_key", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("retired_at", UtcDateTime),
)

"""The plugin's one table (created by its own migrations, ``migrations/versions``)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, MetaData, String, Table, Text

metadata = MetaData()

endpoints = Table(
    "webhook_endpoints",
    metadata,
    # One endpoint per job; it is found by its hook id, the unguessable part of its URL.
    Column("job_id", String(64), primary_key=True),
    Column("hook_id", String(64), nullable=False, unique=True),
    # Both secrets sealed with vecron's secret keys (Runtime.secrets), like secret variables.
    Column("sealed_secret", Text, nullable=False),
    Column("sealed_previous", Text),
    Column("previous_until", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("rotated_at", DateTime(timezone=True), nullable=False),
)


def aware(value: datetime | None) -> datetime | None:
    """A stored time as aware UTC: SQLite gives it back naive, PostgreSQL aware."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

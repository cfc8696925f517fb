"""Time, in one place, so tests and (later) the database clock can replace it."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)

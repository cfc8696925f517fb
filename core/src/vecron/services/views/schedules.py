"""The preview of a schedule: its next fire times, in UTC and in its time zone."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class ScheduledFire(BaseModel):
    """One planned fire: ``at`` in UTC, ``local`` the same instant in the time zone;
    ``note`` marks DST transitions (a shifted, skipped or repeated hour)."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    local: datetime
    note: str | None = None


class ScheduleExplanation(BaseModel):
    """``schedule explain`` and the dashboard's preview of a trigger."""

    model_config = ConfigDict(frozen=True)

    trigger: str
    """The trigger type (``cron``, ``fixed_rate`` …)."""
    expression: str | None
    """The cron expression, for cron triggers."""
    timezone: str
    fires: list[ScheduledFire]

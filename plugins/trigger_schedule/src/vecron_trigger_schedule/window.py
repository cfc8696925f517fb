"""A job's active window: no fire before ``start_at``, none after ``end_at`` (S1.3)."""

from __future__ import annotations

from datetime import UTC, datetime

from vecron import ScheduleContext

from .wall_clock import TICK, require_aware


def search_from(after: datetime, schedule: ScheduleContext) -> datetime:
    """The instant to search strictly after: ``after``, or just before ``start_at``.

    :raises vecron.errors.ValidationError: ``after`` is naive.
    """
    require_aware(after)
    if schedule.start_at is not None:
        floor = schedule.start_at - TICK
        if floor > after:
            return floor
    return after


def within_end(at: datetime | None, schedule: ScheduleContext) -> datetime | None:
    """``at`` in UTC, or None when there is none or it is past ``end_at``."""
    if at is None or (schedule.end_at is not None and at > schedule.end_at):
        return None
    return at.astimezone(UTC)

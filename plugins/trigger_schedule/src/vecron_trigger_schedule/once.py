"""The ``once`` trigger: a one-time job fires once and is then complete (S1.3, P6)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from vecron import DstFold, Instant, ScheduleContext, Trigger, TriggerConfig, TriggerState

from .wall_clock import WallClock
from .window import search_from, within_end


class OnceConfig(TriggerConfig):
    """Fires once, at ``at``: ``{"type": "once", "at": "2026-05-01T09:00:00"}``.

    A naive ``at`` is wall time in the job's time zone; an aware one is used as is.
    """

    at: Instant = Field(description="When to fire; without an offset it is job-local time.")


class OnceTrigger(Trigger[OnceConfig]):
    """Fires at ``at`` if that is after ``after`` and inside the job's window.

    A naive ``at`` in a DST gap follows ``dst_gap`` (shift: at the end of the gap; skip:
    never). In a fold it fires at the first occurrence, or the last with
    ``dst_fold=last``; ``both`` acts as ``first`` because a one-time job fires once.
    """

    kind = "once"
    Config = OnceConfig

    def __init__(self, config: OnceConfig, schedule: ScheduleContext) -> None:
        super().__init__(config, schedule)
        at = config.at
        if at.tzinfo is None or at.utcoffset() is None:
            fold = DstFold.FIRST if schedule.dst_fold is DstFold.BOTH else schedule.dst_fold
            instants = WallClock(schedule.tz, schedule.dst_gap, fold).resolve(at)
            self.at: datetime | None = instants[0] if instants else None
        else:
            self.at = at

    def next_fire_time(self, after: datetime, state: TriggerState) -> datetime | None:
        start = search_from(after, self.schedule)
        if self.at is None or self.at <= start:
            return None
        return within_end(self.at, self.schedule)

"""The ``cron`` trigger: Quartz or Unix cron in the job's time zone (S1.1, S1.2)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, field_validator

from vecron import DstFold, DstGap, ScheduleContext, Trigger, TriggerConfig, TriggerState

from .cron_expression import CronExpression, compile_expression
from .wall_clock import TICK, WallClock, format_offset, format_wall
from .window import search_from, within_end


class CronConfig(TriggerConfig):
    """Fires at the wall-clock times a cron expression names, in the job's time zone.

    ``{"type": "cron", "expression": "0 0 12 ? * 6#3"}``: noon on the third Friday.
    """

    expression: str = Field(
        description=(
            "Quartz cron `sec min hour day-of-month month day-of-week [year]` "
            "(days of week 1=SUN..7=SAT; ? L W LW L-n # nL), plain 5-field Unix cron "
            "(days of week 0-7, 0 and 7 = SUN), or @yearly @monthly @weekly @daily @hourly."
        )
    )

    @field_validator("expression")
    @classmethod
    def _compiles(cls, value: str) -> str:
        text = " ".join(value.split())
        compile_expression(text)
        return text


class CronTrigger(Trigger[CronConfig]):
    """Fires at the wall-clock times a cron expression names, in ``schedule.tz``.

    Candidate times are computed as naive wall times and mapped to instants with the
    schedule's DST policy (:class:`.wall_clock.WallClock`). Results are UTC-aware.
    """

    kind = "cron"
    Config = CronConfig

    def __init__(self, config: CronConfig, schedule: ScheduleContext) -> None:
        super().__init__(config, schedule)
        self.expression: CronExpression = compile_expression(config.expression)
        self.clock = WallClock(schedule.tz, schedule.dst_gap, schedule.dst_fold)

    def next_fire_time(self, after: datetime, state: TriggerState) -> datetime | None:
        start = search_from(after, self.schedule)
        return within_end(self.clock.next_instant(start, self.expression.next_after), self.schedule)

    def fire_note(self, previous: datetime, at: datetime) -> str | None:
        """Why ``at`` is not simply the expression's wall time, on DST nights.

        ``previous`` is the fire (or search start) before ``at``; a gap between the two
        that swallowed a matching wall time (``gap=skip``) is reported too.
        """
        clock = self.clock
        local = at.astimezone(clock.tz)
        wall = local.replace(tzinfo=None, fold=0)
        offset = clock.offset_at(at)
        just_before = clock.offset_at(at - TICK)
        if offset > just_before and clock.gap is DstGap.SHIFT:
            missing = self.expression.next_after(wall - (offset - just_before) - TICK)
            if missing is not None and missing < wall:
                return (
                    f"DST starts: {format_wall(missing)} does not exist, "
                    f"fired at {format_wall(wall)} {format_offset(offset)}"
                )
        first, second = clock.offsets(wall)
        if first > second:
            pass_ = "first" if local.fold == 0 else "second"
            if clock.fold is DstFold.BOTH:
                which = f"both (this is the {pass_}, {format_offset(offset)})"
            else:
                which = f"the {clock.fold.value} ({format_offset(offset)})"
            return f"DST ends: {format_wall(wall)} happens twice, fired at {which}"
        earlier = clock.offset_at(previous)
        if offset > earlier and clock.gap is DstGap.SKIP:
            switch = clock.transition(previous, at).replace(tzinfo=None)
            skipped = self.expression.next_after(switch + earlier - TICK)
            if skipped is not None and skipped < switch + offset:
                return f"DST starts: {format_wall(skipped)} does not exist, so it was skipped"
        return None

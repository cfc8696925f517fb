"""``fixed_rate`` and ``fixed_delay``: intervals in absolute time (S1.3).

Both count real elapsed time, so a DST change moves their wall-clock times.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar

from pydantic import Field, field_validator

from vecron import (
    MIN_PERIOD,
    ScheduleContext,
    Trigger,
    TriggerConfig,
    TriggerState,
    check_duration,
)

from .wall_clock import TICK, require_aware
from .window import search_from, within_end


def _period(value: timedelta) -> timedelta:
    return check_duration(value, minimum=MIN_PERIOD)


def _delay(value: timedelta) -> timedelta:
    return check_duration(value)


class FixedRateConfig(TriggerConfig):
    """Fires every ``period`` from the job's start, however long each run takes.

    ``{"type": "fixed_rate", "period": "PT5M"}`` (seconds or ISO 8601 duration).
    """

    period: timedelta = Field(description="Time between fires: seconds or ISO 8601 (PT5M).")

    _check_period = field_validator("period")(_period)


class FixedRateTrigger(Trigger[FixedRateConfig]):
    """Fires at ``anchor + k * period`` (k >= 0): never drifts, however long runs take."""

    kind = "fixed_rate"
    Config = FixedRateConfig

    def __init__(self, config: FixedRateConfig, schedule: ScheduleContext) -> None:
        super().__init__(config, schedule)
        self.period = config.period

    def next_fire_time(self, after: datetime, state: TriggerState) -> datetime | None:
        start = search_from(after, self.schedule)
        anchor = require_aware(state.anchor, "anchor")
        periods = 0 if start < anchor else (start - anchor) // self.period + 1
        return within_end(anchor + periods * self.period, self.schedule)


class FixedDelayConfig(TriggerConfig):
    """Fires ``delay`` after the previous run finished.

    ``{"type": "fixed_delay", "delay": 30, "initial_delay": 0}``.
    """

    delay: timedelta = Field(description="From the end of one run to the start of the next.")
    initial_delay: timedelta = Field(
        timedelta(0), description="From the job's anchor (start) to its first run."
    )

    _check_delay = field_validator("delay")(_period)
    _check_initial_delay = field_validator("initial_delay")(_delay)


class FixedDelayTrigger(Trigger[FixedDelayConfig]):
    """Fires ``delay`` after the previous run finished.

    The due time is ``last_finished_at + delay``, or ``anchor + initial_delay`` before
    the first run. When the due time is not after ``after`` (the scheduler was down, or
    asks late) the run is due now: the result is the first instant after ``after``,
    ``after + 1 µs``. The scheduler asks again after each finish (``after_finish``).
    """

    kind = "fixed_delay"
    Config = FixedDelayConfig
    after_finish: ClassVar[bool] = True

    def __init__(self, config: FixedDelayConfig, schedule: ScheduleContext) -> None:
        super().__init__(config, schedule)
        self.delay = config.delay
        self.initial_delay = config.initial_delay

    def next_fire_time(self, after: datetime, state: TriggerState) -> datetime | None:
        start = search_from(after, self.schedule)
        if state.last_finished_at is not None:
            due = require_aware(state.last_finished_at, "last_finished_at") + self.delay
        else:
            due = require_aware(state.anchor, "anchor") + self.initial_delay
        return within_end(due if due > start else start + TICK, self.schedule)

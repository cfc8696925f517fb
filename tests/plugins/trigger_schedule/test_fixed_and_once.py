"""fixed_rate, fixed_delay and once (S1.3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic
import pytest

from tests.plugins.trigger_schedule.schedule_support import BERLIN, HCM, NEW_YORK, fires, utc
from vecron.errors import ValidationError
from vecron.plugin.trigger import DstFold, DstGap, ScheduleContext, TriggerState
from vecron_trigger_schedule.fixed import (
    FixedDelayConfig,
    FixedDelayTrigger,
    FixedRateConfig,
    FixedRateTrigger,
)
from vecron_trigger_schedule.once import OnceConfig, OnceTrigger

ANCHOR = utc(2026, 1, 1, 9)


def rate(period: object, **window: Any) -> FixedRateTrigger:
    return FixedRateTrigger(FixedRateConfig(period=period), ScheduleContext(tz=HCM, **window))


def test_fixed_rate_counts_from_the_anchor() -> None:
    trigger = rate("PT5M")
    state = TriggerState(anchor=ANCHOR)
    assert trigger.next_fire_time(ANCHOR - timedelta(days=1), state) == ANCHOR
    assert trigger.next_fire_time(ANCHOR, state) == ANCHOR + timedelta(minutes=5)
    # A run that ended late does not move the grid.
    late = ANCHOR + timedelta(minutes=13, seconds=7)
    assert trigger.next_fire_time(late, state) == ANCHOR + timedelta(minutes=15)


def test_fixed_rate_parses_seconds_and_iso_durations() -> None:
    assert FixedRateConfig(period=90).period == timedelta(seconds=90)
    assert FixedRateConfig(period="PT1H30M").period == timedelta(minutes=90)
    for bad in (0, -5, "PT0S"):
        with pytest.raises(pydantic.ValidationError, match=r"must be from 0\.1 s to 31,622,400 s"):
            FixedRateConfig(period=bad)


def test_fixed_rate_ignores_dst() -> None:
    # Real elapsed time: one hour apart across Berlin's spring-forward night.
    trigger = FixedRateTrigger(FixedRateConfig(period=3600), ScheduleContext(tz=BERLIN))
    times = fires(trigger, utc(2026, 3, 29, 0), 3, TriggerState(anchor=utc(2026, 3, 29, 0)))
    assert [t.astimezone(BERLIN).strftime("%H:%M") for t in times] == ["03:00", "04:00", "05:00"]


def test_fixed_rate_window() -> None:
    start = ANCHOR + timedelta(minutes=7)
    end = ANCHOR + timedelta(minutes=20)
    trigger = rate(300, start_at=start, end_at=end)
    times = fires(trigger, ANCHOR - timedelta(hours=1), 10, TriggerState(anchor=ANCHOR))
    assert times == [ANCHOR + timedelta(minutes=m) for m in (10, 15, 20)]


def delay(seconds: float, initial: float = 0, **window: Any) -> FixedDelayTrigger:
    config = FixedDelayConfig(delay=seconds, initial_delay=initial)
    return FixedDelayTrigger(config, ScheduleContext(tz=HCM, **window))


def test_fixed_delay_counts_from_the_previous_finish() -> None:
    trigger = delay(30, initial=10)
    assert trigger.after_finish is True
    first = trigger.next_fire_time(ANCHOR, TriggerState(anchor=ANCHOR))
    assert first == ANCHOR + timedelta(seconds=10)
    finished = ANCHOR + timedelta(seconds=52)
    state = TriggerState(anchor=ANCHOR, last_finished_at=finished)
    assert trigger.next_fire_time(first, state) == finished + timedelta(seconds=30)


def test_fixed_delay_overdue_runs_now() -> None:
    trigger = delay(30)
    state = TriggerState(anchor=ANCHOR, last_finished_at=ANCHOR)
    later = ANCHOR + timedelta(hours=1)
    assert trigger.next_fire_time(later, state) == later + timedelta(microseconds=1)


def test_fixed_delay_window() -> None:
    start = ANCHOR + timedelta(hours=1)
    trigger = delay(30, start_at=start, end_at=start + timedelta(seconds=10))
    assert trigger.next_fire_time(ANCHOR, TriggerState(anchor=ANCHOR)) == start
    done = TriggerState(anchor=ANCHOR, last_finished_at=start)
    assert trigger.next_fire_time(start, done) is None


def test_fixed_delay_rejects_bad_delays() -> None:
    with pytest.raises(pydantic.ValidationError, match=r"must be from 0\.1 s"):
        FixedDelayConfig(delay=0)
    with pytest.raises(pydantic.ValidationError, match="must be from 0 s"):
        FixedDelayConfig(delay=1, initial_delay=-1)


def once(at: object, tz: object = HCM, **policy: object) -> OnceTrigger:
    context = ScheduleContext(tz=tz, **policy)  # type: ignore[arg-type]
    return OnceTrigger(OnceConfig(at=at), context)


def test_once_fires_once() -> None:
    trigger = once("2026-05-01T09:00:00")  # wall time in Ho Chi Minh City
    state = TriggerState(anchor=ANCHOR)
    assert fires(trigger, ANCHOR, 5, state) == [utc(2026, 5, 1, 2)]
    assert trigger.next_fire_time(utc(2026, 5, 1, 2), state) is None


def test_once_aware_time_is_used_as_is() -> None:
    trigger = once("2026-05-01T09:00:00+02:00")
    assert trigger.next_fire_time(ANCHOR, TriggerState(anchor=ANCHOR)) == utc(2026, 5, 1, 7)


def test_once_follows_the_dst_policy() -> None:
    state = TriggerState(anchor=ANCHOR)
    gap = "2026-03-08T02:30:00"
    assert once(gap, NEW_YORK).next_fire_time(ANCHOR, state) == utc(2026, 3, 8, 7)
    assert once(gap, NEW_YORK, dst_gap=DstGap.SKIP).next_fire_time(ANCHOR, state) is None
    fold = "2026-11-01T01:30:00"
    assert once(fold, NEW_YORK).next_fire_time(ANCHOR, state) == utc(2026, 11, 1, 5, 30)
    last = once(fold, NEW_YORK, dst_fold=DstFold.LAST)
    assert last.next_fire_time(ANCHOR, state) == utc(2026, 11, 1, 6, 30)
    # A one-time job fires once, even with `both`.
    both = once(fold, NEW_YORK, dst_fold=DstFold.BOTH)
    assert fires(both, ANCHOR, 3, state) == [utc(2026, 11, 1, 5, 30)]


def test_once_respects_the_window() -> None:
    state = TriggerState(anchor=ANCHOR)
    at = "2026-05-01T09:00:00+07:00"
    late_start = ScheduleContext(tz=HCM, start_at=utc(2026, 6, 1))
    assert OnceTrigger(OnceConfig(at=at), late_start).next_fire_time(ANCHOR, state) is None
    early_end = ScheduleContext(tz=HCM, end_at=utc(2026, 4, 1))
    assert OnceTrigger(OnceConfig(at=at), early_end).next_fire_time(ANCHOR, state) is None


def test_naive_after_is_refused() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        rate(60).next_fire_time(datetime(2026, 1, 1), TriggerState(anchor=ANCHOR))
    assert rate(60).next_fire_time(ANCHOR, TriggerState(anchor=ANCHOR)).tzinfo is UTC  # type: ignore[union-attr]

"""Helpers shared by the schedule trigger tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from vecron.plugin.trigger import DstFold, DstGap, ScheduleContext, Trigger, TriggerState
from vecron_trigger_schedule.cron import CronConfig, CronTrigger

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def cron(
    expression: str,
    tz: ZoneInfo = HCM,
    *,
    gap: DstGap = DstGap.SHIFT,
    fold: DstFold = DstFold.FIRST,
    **window: Any,
) -> CronTrigger:
    context = ScheduleContext(tz=tz, dst_gap=gap, dst_fold=fold, **window)
    return CronTrigger(CronConfig(expression=expression), context)


def fires(
    trigger: Trigger, after: datetime, count: int, state: TriggerState | None = None
) -> list[datetime]:
    """Up to ``count`` consecutive fire times, each asked after the previous one."""
    state = state or TriggerState(anchor=after)
    times: list[datetime] = []
    for _ in range(count):
        fire = trigger.next_fire_time(after, state)
        if fire is None:
            break
        times.append(fire)
        after = fire
    return times


def local_walls(times: list[datetime], tz: ZoneInfo) -> list[str]:
    """``Fri 2026-01-16 12:00:00 +07:00`` for each time."""
    return [t.astimezone(tz).strftime("%a %Y-%m-%d %H:%M:%S %z") for t in times]


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)

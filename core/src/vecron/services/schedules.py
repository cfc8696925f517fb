"""Schedules: build a trigger from its document, and preview when it fires (S13.2).

Generic over every :class:`~vecron.plugin.trigger.Trigger`; ``vecron schedule explain`` and the
dashboard preview call :meth:`ScheduleService.explain`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

import pydantic

from vecron.errors import ValidationError, problems_from_pydantic
from vecron.jobs.documents import check_timezone
from vecron.plugin.registry import TRIGGER_KEYS, Registry
from vecron.plugin.trigger import ScheduleContext, Trigger, TriggerState
from vecron.services.views import ScheduledFire, ScheduleExplanation


@runtime_checkable
class ExplainsFires(Protocol):
    """Optional for triggers: say why a fire is where it is (DST shifts, skips, folds)."""

    def fire_note(self, previous: datetime, at: datetime) -> str | None:
        """A one-line note about the fire ``at`` following ``previous``, or None."""


@dataclass(frozen=True, slots=True)
class FirePreview:
    """One planned fire.

    ``at`` is UTC; ``local`` is the same instant in the schedule's time zone and
    ``utc_offset`` its offset there. ``note`` marks DST transition nights.
    """

    at: datetime
    local: datetime
    utc_offset: timedelta
    note: str | None = None


def _format_offset(offset: timedelta) -> str:
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _offset(instant: datetime, tz: ZoneInfo) -> timedelta:
    offset = instant.astimezone(tz).utcoffset()
    assert offset is not None  # an aware datetime in a ZoneInfo always has one
    return offset


def explain_schedule(
    trigger: Trigger, *, count: int, after: datetime, state: TriggerState | None = None
) -> list[FirePreview]:
    """The next ``count`` fire times strictly after ``after`` (fewer if it runs out).

    ``state`` defaults to a schedule anchored at ``after``. For triggers that count
    from the previous finish (``after_finish``) each run is assumed to finish at once.

    :raises vecron.errors.ValidationError: ``after`` is naive or ``count`` negative.
    """
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValidationError("must include a UTC offset", field="after")
    if count < 0:
        raise ValidationError(f"must be 0 or more, got {count}", field="count")
    tz = trigger.schedule.tz
    current = state or TriggerState(anchor=after)
    previews: list[FirePreview] = []
    previous = after
    for _ in range(count):
        fire = trigger.next_fire_time(previous, current)
        if fire is None:
            break
        at = fire.astimezone(UTC)
        local = at.astimezone(tz)
        note = trigger.fire_note(previous, at) if isinstance(trigger, ExplainsFires) else None
        offset = _offset(at, tz)
        before = _offset(previous, tz)
        if note is None and offset != before:
            note = (
                f"UTC offset changes from {_format_offset(before)} "
                f"to {_format_offset(offset)} before this fire"
            )
        previews.append(FirePreview(at=at, local=local, utc_offset=offset, note=note))
        previous = at
        if trigger.after_finish:
            current = replace(current, last_finished_at=at)
    return previews


def build_trigger(
    registry: Registry, type: str, config: Mapping[str, Any], schedule: ScheduleContext
) -> Trigger:
    """Validate ``config`` with the trigger's ``Config`` model and build the trigger.

    Keys that belong to vecron (``type``) are ignored, so a whole trigger document may
    be passed.

    :raises vecron.errors.ValidationError: unknown type, or an invalid config; the
        message is one line and ``field`` names the config key.
    """
    cls = registry.trigger(type)
    document = {key: value for key, value in config.items() if key not in TRIGGER_KEYS}
    try:
        validated = cls.Config.model_validate(document)
    except pydantic.ValidationError as exc:
        problems = problems_from_pydantic(exc.errors(include_url=False), data=document)
        raise ValidationError.of(problems, what="trigger") from None
    return cls(validated, schedule)


class ScheduleService:
    """Previews of schedules: pure, no state read, so no principal is needed."""

    def __init__(self, registry: Registry, *, default_timezone: str) -> None:
        self.registry = registry
        self.default_timezone = default_timezone

    def explain(
        self,
        trigger: Mapping[str, Any],
        *,
        timezone: str | None = None,
        count: int = 10,
        after: datetime | None = None,
    ) -> ScheduleExplanation:
        """The next ``count`` fire times of a trigger document (``{"type": "cron",
        "expression": ...}``) strictly after ``after`` (default now); a naive ``after`` is
        a wall-clock time in ``timezone`` (default: the default time zone of new jobs).

        :raises vecron.errors.ValidationError: unknown type or time zone, bad config.
        """
        zone = check_timezone(timezone or self.default_timezone)
        start = datetime.now(UTC) if after is None else after
        if start.tzinfo is None or start.utcoffset() is None:
            start = start.replace(tzinfo=zone)
        kind = str(trigger.get("type", ""))
        built = build_trigger(self.registry, kind, trigger, ScheduleContext(tz=zone))
        expression = trigger.get("expression")
        return ScheduleExplanation(
            trigger=kind,
            expression=expression if isinstance(expression, str) else None,
            timezone=zone.key,
            fires=[
                ScheduledFire(at=p.at, local=p.local, note=p.note)
                for p in explain_schedule(built, count=count, after=start)
            ],
        )

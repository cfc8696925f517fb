"""vecron.services.schedules over the schedule triggers: build_trigger, explain_schedule."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.plugins.trigger_schedule.schedule_support import BERLIN, HCM, NEW_YORK, utc
from vecron.errors import ValidationError
from vecron.plugin.manager import build_registry, get_plugin_manager
from vecron.plugin.registry import Registry
from vecron.plugin.trigger import DstFold, DstGap, ScheduleContext, TriggerState
from vecron.services.schedules import FirePreview, build_trigger, explain_schedule
from vecron_trigger_schedule.cron import CronTrigger


@pytest.fixture(scope="module")
def registry() -> Registry:
    return build_registry(get_plugin_manager())


def test_entry_point_registers_the_four_triggers(registry: Registry) -> None:
    assert {"cron", "fixed_rate", "fixed_delay", "once"} <= set(registry.triggers)
    assert registry.owners[("trigger", "cron")] == "trigger_schedule"


def test_build_trigger_validates_and_builds(registry: Registry) -> None:
    trigger = build_trigger(
        registry, "cron", {"type": "cron", "expression": "0 0 12 ? * 6#3"}, ScheduleContext(tz=HCM)
    )
    assert isinstance(trigger, CronTrigger)
    assert trigger.next_fire_time(utc(2026, 1, 1), TriggerState(anchor=utc(2026, 1, 1))) == utc(
        2026, 1, 16, 5
    )


@pytest.mark.parametrize(
    ("kind", "config", "field", "message"),
    [
        (
            "cron",
            {"expression": "61 * * * * ?"},
            "expression",
            "second field '61' is out of range 0-59",
        ),
        (
            "cron",
            {"expression": "0 0 0 ? * FOO"},
            "expression",
            "day-of-week field 'FOO' is not a day name",
        ),
        ("cron", {"expression": "0 12"}, "expression", "expected 5, 6 or 7 fields, got 2"),
        ("cron", {}, "expression", "Field required"),
        ("cron", {"expression": "@daily", "tz": "UTC"}, "tz", "unknown field"),
        (
            "fixed_rate",
            {"period": 0},
            "period",
            "must be from 0.1 s to 31,622,400 s (366 days), got 0 s",
        ),
        ("fixed_delay", {"delay": "soon"}, "delay", "Input should be a valid timedelta"),
        ("once", {"at": "tomorrow"}, "at", "Input should be a valid datetime"),
    ],
)
def test_build_trigger_names_the_bad_field(
    registry: Registry, kind: str, config: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        build_trigger(registry, kind, config, ScheduleContext(tz=HCM))
    assert caught.value.field == field
    assert caught.value.message.startswith(message)
    assert "\n" not in caught.value.one_line()
    assert caught.value.one_line().startswith(f"{field}: {message}")


def test_build_trigger_reports_every_bad_field(registry: Registry) -> None:
    config = {"expression": "61 * * * * ?", "tz": "UTC", "colour": "red"}
    with pytest.raises(ValidationError) as caught:
        build_trigger(registry, "cron", config, ScheduleContext(tz=HCM))
    found = {(p.field, p.message) for p in caught.value.problems}
    assert found == {
        ("expression", "second field '61' is out of range 0-59"),
        ("tz", "unknown field"),
        ("colour", "unknown field"),
    }


def test_build_trigger_unknown_type(registry: Registry) -> None:
    with pytest.raises(ValidationError, match="unknown trigger type 'sometimes'"):
        build_trigger(registry, "sometimes", {}, ScheduleContext(tz=HCM))


def explain(
    expression: str, tz: object, after: object, count: int, **policy: object
) -> list[FirePreview]:
    context = ScheduleContext(tz=tz, **policy)  # type: ignore[arg-type]
    trigger = build_trigger(
        build_registry(get_plugin_manager()), "cron", {"expression": expression}, context
    )
    return explain_schedule(trigger, count=count, after=after)  # type: ignore[arg-type]


def test_explain_marks_a_shifted_fire() -> None:
    previews = explain("0 30 2 * * ?", BERLIN, utc(2026, 3, 27, 12), 3)
    assert [p.local.isoformat() for p in previews] == [
        "2026-03-28T02:30:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-30T02:30:00+02:00",
    ]
    assert [p.note for p in previews] == [
        None,
        "DST starts: 02:30 does not exist, fired at 03:00 +02:00",
        None,
    ]
    assert previews[1].at == utc(2026, 3, 29, 1)
    assert previews[1].utc_offset == timedelta(hours=2)


def test_explain_marks_a_skipped_fire() -> None:
    previews = explain("0 30 2 * * ?", BERLIN, utc(2026, 3, 27, 12), 2, dst_gap=DstGap.SKIP)
    assert [p.local.isoformat() for p in previews] == [
        "2026-03-28T02:30:00+01:00",
        "2026-03-30T02:30:00+02:00",
    ]
    assert previews[1].note == "DST starts: 02:30 does not exist, so it was skipped"


@pytest.mark.parametrize(
    ("fold", "notes"),
    [
        (
            DstFold.FIRST,
            [
                "DST ends: 01:30 happens twice, fired at the first (-04:00)",
                "UTC offset changes from -04:00 to -05:00 before this fire",
            ],
        ),
        (DstFold.LAST, ["DST ends: 01:30 happens twice, fired at the last (-05:00)", None]),
        (
            DstFold.BOTH,
            [
                "DST ends: 01:30 happens twice, fired at both (this is the first, -04:00)",
                "DST ends: 01:30 happens twice, fired at both (this is the second, -05:00)",
                None,
            ],
        ),
    ],
)
def test_explain_marks_a_repeated_hour(fold: DstFold, notes: list[str | None]) -> None:
    previews = explain("0 30 1 * * ?", NEW_YORK, utc(2026, 11, 1), len(notes), dst_fold=fold)
    assert [p.note for p in previews] == notes
    assert [p.at for p in previews] == sorted({p.at for p in previews})


def test_explain_marks_an_offset_change_without_a_shift() -> None:
    previews = explain("0 0 12 * * ?", BERLIN, utc(2026, 3, 28), 2)
    assert [p.note for p in previews] == [
        None,
        "UTC offset changes from +01:00 to +02:00 before this fire",
    ]


def test_explain_ho_chi_minh_city_and_exhaustion() -> None:
    previews = explain("0 0 8 1 1 ? 2026,2027", HCM, utc(2025, 6, 1), 5)
    assert [(p.local.isoformat(), p.note) for p in previews] == [
        ("2026-01-01T08:00:00+07:00", None),
        ("2027-01-01T08:00:00+07:00", None),
    ]
    assert all(p.at.tzinfo is not None and p.at.utcoffset() == timedelta(0) for p in previews)


def test_explain_is_generic_and_simulates_finishes(registry: Registry) -> None:
    context = ScheduleContext(tz=BERLIN)
    rate = build_trigger(registry, "fixed_rate", {"period": "PT1H"}, context)
    previews = explain_schedule(rate, count=3, after=utc(2026, 3, 29, 0, 30))
    assert [p.local.strftime("%H:%M") for p in previews] == ["03:30", "04:30", "05:30"]
    assert previews[0].note == "UTC offset changes from +01:00 to +02:00 before this fire"
    delay = build_trigger(registry, "fixed_delay", {"delay": 600}, context)
    previews = explain_schedule(delay, count=3, after=utc(2026, 1, 1))
    assert [p.at for p in previews] == [
        utc(2026, 1, 1) + timedelta(microseconds=1),
        utc(2026, 1, 1, 0, 10, 0, 1),
        utc(2026, 1, 1, 0, 20, 0, 1),
    ]


def test_explain_refuses_bad_arguments(registry: Registry) -> None:
    trigger = build_trigger(registry, "cron", {"expression": "@daily"}, ScheduleContext(tz=HCM))
    with pytest.raises(ValidationError) as caught:
        explain_schedule(trigger, count=3, after=utc(2026, 1, 1).replace(tzinfo=None))
    assert caught.value.field == "after"
    with pytest.raises(ValidationError) as caught:
        explain_schedule(trigger, count=-1, after=utc(2026, 1, 1))
    assert caught.value.field == "count"
    assert explain_schedule(trigger, count=0, after=utc(2026, 1, 1)) == []

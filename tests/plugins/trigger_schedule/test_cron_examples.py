"""Cron expressions with known fire dates: every Quartz feature, Unix cron, aliases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pydantic
import pytest

from tests.plugins.trigger_schedule.schedule_support import (
    HCM,
    cron,
    fires,
    local_walls,
    utc,
)
from vecron.plugin.trigger import TriggerState
from vecron_trigger_schedule.cron import CronConfig
from vecron_trigger_schedule.cron_expression import CronSyntaxError, compile_expression

START = utc(2025, 12, 31, 17)  # 2026-01-01 00:00 in Ho Chi Minh City


def walls(expression: str, count: int = 6, after: datetime = START) -> list[str]:
    return local_walls(fires(cron(expression), after, count), HCM)


def days(expression: str, count: int = 6) -> list[str]:
    return [wall[:14] for wall in walls(expression, count)]


def test_third_friday_with_hash() -> None:
    assert days("0 0 12 ? * 6#3", 12) == [
        "Fri 2026-01-16",
        "Fri 2026-02-20",
        "Fri 2026-03-20",
        "Fri 2026-04-17",
        "Fri 2026-05-15",
        "Fri 2026-06-19",
        "Fri 2026-07-17",
        "Fri 2026-08-21",
        "Fri 2026-09-18",
        "Fri 2026-10-16",
        "Fri 2026-11-20",
        "Fri 2026-12-18",
    ]
    assert walls("0 0 12 ? * FRI#3", 1) == ["Fri 2026-01-16 12:00:00 +0700"]


def test_last_weekday_of_month_lw() -> None:
    assert days("0 0 12 LW * ?") == [
        "Fri 2026-01-30",
        "Fri 2026-02-27",
        "Tue 2026-03-31",
        "Thu 2026-04-30",
        "Fri 2026-05-29",
        "Tue 2026-06-30",
    ]


def test_last_friday_nl() -> None:
    assert walls("0 15 10 ? * 6L", 6) == [
        "Fri 2026-01-30 10:15:00 +0700",
        "Fri 2026-02-27 10:15:00 +0700",
        "Fri 2026-03-27 10:15:00 +0700",
        "Fri 2026-04-24 10:15:00 +0700",
        "Fri 2026-05-29 10:15:00 +0700",
        "Fri 2026-06-26 10:15:00 +0700",
    ]
    assert days("0 15 10 ? * FRIL", 2) == ["Fri 2026-01-30", "Fri 2026-02-27"]


def test_last_day_and_offset_from_last_day() -> None:
    assert days("0 0 12 L * ?", 3) == ["Sat 2026-01-31", "Sat 2026-02-28", "Tue 2026-03-31"]
    assert days("0 0 12 L-2 * ?", 3) == ["Thu 2026-01-29", "Thu 2026-02-26", "Sun 2026-03-29"]
    leap = fires(cron("0 0 0 L 2 ?"), utc(2027, 6, 1), 1)
    assert local_walls(leap, HCM) == ["Tue 2028-02-29 00:00:00 +0700"]


def test_nearest_weekday_stays_in_its_month() -> None:
    assert days("0 0 12 15W * ?", 8) == [
        "Thu 2026-01-15",
        "Mon 2026-02-16",  # the 15th is a Sunday
        "Mon 2026-03-16",
        "Wed 2026-04-15",
        "Fri 2026-05-15",
        "Mon 2026-06-15",
        "Wed 2026-07-15",
        "Fri 2026-08-14",  # the 15th is a Saturday
    ]
    # 1 August 2026 is a Saturday: the nearest weekday in August is Monday the 3rd.
    assert days("0 0 12 1W 8 ?", 1) == ["Mon 2026-08-03"]
    # 31 May 2026 is a Sunday: not June 1st but Friday the 29th.
    assert days("0 0 12 31W 5 ?", 1) == ["Fri 2026-05-29"]


def test_year_field_ends_the_schedule() -> None:
    trigger = cron("0 0 0 1 1 ? 2027,2030")
    times = fires(trigger, START, 5)
    assert local_walls(times, HCM) == [
        "Fri 2027-01-01 00:00:00 +0700",
        "Tue 2030-01-01 00:00:00 +0700",
    ]
    assert days("0 0 12 1 JAN ? 2026-2027/1", 3) == ["Thu 2026-01-01", "Fri 2027-01-01"]


def test_names_ranges_lists_and_steps() -> None:
    assert days("0 0 9 ? * MON-FRI", 6) == [
        "Thu 2026-01-01",
        "Fri 2026-01-02",
        "Mon 2026-01-05",
        "Tue 2026-01-06",
        "Wed 2026-01-07",
        "Thu 2026-01-08",
    ]
    assert days("0 0 9 1 jan,Jul ?", 3) == ["Thu 2026-01-01", "Wed 2026-07-01", "Fri 2027-01-01"]
    assert [w[15:23] for w in walls("*/20 * * * * ?", 4)] == [
        "00:00:20",
        "00:00:40",
        "00:01:00",
        "00:01:20",
    ]
    assert [w[15:23] for w in walls("15,45 30 10/6 * * ?", 5)] == [
        "10:30:15",
        "10:30:45",
        "16:30:15",
        "16:30:45",
        "22:30:15",
    ]
    # START is midnight itself, so the first fire is 01:00.
    assert [w[15:20] for w in walls("0 0 22-1 * * ?", 5)] == [
        "01:00",
        "22:00",
        "23:00",
        "00:00",
        "01:00",
    ]


def test_quartz_days_of_week_count_from_sunday() -> None:
    assert days("0 0 12 ? * 1", 1) == ["Sun 2026-01-04"]
    assert days("0 0 12 ? * 7", 1) == ["Sat 2026-01-03"]
    assert days("0 0 12 ? * L", 1) == ["Sat 2026-01-03"]  # a lone L is 7, Saturday
    assert days("0 0 12 ? * SAT-MON", 3) == ["Sat 2026-01-03", "Sun 2026-01-04", "Mon 2026-01-05"]


def test_unix_five_fields() -> None:
    assert walls("30 9 * * 1", 2) == [
        "Mon 2026-01-05 09:30:00 +0700",
        "Mon 2026-01-12 09:30:00 +0700",
    ]
    # Unix numbers Sunday 0, and 7 too.
    assert days("0 9 * * 0", 1) == days("0 9 * * 7", 1) == ["Sun 2026-01-04"]
    assert days("0 9 * * 5-7", 3) == ["Fri 2026-01-02", "Sat 2026-01-03", "Sun 2026-01-04"]


def test_unix_day_of_month_or_day_of_week() -> None:
    # Both restricted: a day matches when EITHER field does (Vixie cron).
    assert days("0 9 1 * 1", 7) == [
        "Thu 2026-01-01",
        "Mon 2026-01-05",
        "Mon 2026-01-12",
        "Mon 2026-01-19",
        "Mon 2026-01-26",
        "Sun 2026-02-01",
        "Mon 2026-02-02",
    ]
    # Only one restricted: it alone decides.
    assert days("0 9 13 * *", 2) == ["Tue 2026-01-13", "Fri 2026-02-13"]


@pytest.mark.parametrize(
    ("alias", "expected"),
    [
        ("@yearly", ["Thu 2026-01-01 00:00:00 +0700", "Fri 2027-01-01 00:00:00 +0700"]),
        ("@annually", ["Thu 2026-01-01 00:00:00 +0700", "Fri 2027-01-01 00:00:00 +0700"]),
        ("@monthly", ["Thu 2026-01-01 00:00:00 +0700", "Sun 2026-02-01 00:00:00 +0700"]),
        ("@weekly", ["Sun 2026-01-04 00:00:00 +0700", "Sun 2026-01-11 00:00:00 +0700"]),
        ("@daily", ["Thu 2026-01-01 00:00:00 +0700", "Fri 2026-01-02 00:00:00 +0700"]),
        ("@hourly", ["Thu 2026-01-01 00:00:00 +0700", "Thu 2026-01-01 01:00:00 +0700"]),
    ],
)
def test_aliases(alias: str, expected: list[str]) -> None:
    assert walls(alias, 2, START - timedelta(seconds=1)) == expected


def test_results_are_utc_and_strictly_after() -> None:
    trigger = cron("0 0 12 * * ?")
    at = trigger.next_fire_time(utc(2026, 1, 1, 5), TriggerState(anchor=START))
    assert at == utc(2026, 1, 2, 5)
    assert at is not None
    assert at.tzinfo is UTC
    # A fire time asked again is never returned again.
    assert trigger.next_fire_time(at, TriggerState(anchor=START)) == utc(2026, 1, 3, 5)


def test_start_and_end_bound_the_schedule() -> None:
    trigger = cron("0 0 12 * * ?", start_at=utc(2026, 1, 10, 5), end_at=utc(2026, 1, 12, 5))
    assert fires(trigger, START, 10) == [
        utc(2026, 1, 10, 5),
        utc(2026, 1, 11, 5),
        utc(2026, 1, 12, 5),
    ]


def test_parse_once_and_share() -> None:
    assert compile_expression("0 0 12 ? * 6#3") is compile_expression("0 0 12 ? * 6#3")
    config = CronConfig(expression="  0  0 12 ?  * 6#3 ")
    assert config.expression == "0 0 12 ? * 6#3"


INVALID = [
    ("0 0 12", "expected 5, 6 or 7 fields, got 3"),
    ("", "expected 5, 6 or 7 fields, got 0"),
    ("0 0 0 1 1 ? 2026 5", "expected 5, 6 or 7 fields, got 8"),
    ("61 * * * * ?", "second field '61' is out of range 0-59"),
    ("0 60 * * * ?", "minute field '60' is out of range 0-59"),
    ("0 0 24 * * ?", "hour field '24' is out of range 0-23"),
    ("0 0 1-5- * * ?", "hour field '5-' is not a number"),
    ("0 0 0 32 * ?", "day-of-month field '32' is out of range 1-31"),
    ("0 0 0 ? 13 *", "month field '13' is out of range 1-12"),
    ("0 0 0 ? FOO *", "month field 'FOO' is not a month name"),
    ("0 0 0 ? * FOO", "day-of-week field 'FOO' is not a day name"),
    ("0 0 0 ? * 8", "day-of-week field '8' is out of range 1-7"),
    ("0 0 0 ? * 0", "day-of-week field '0' is out of range 1-7"),
    ("0 0 0 ? * 6#6", "day-of-week field '6#6' needs an occurrence 1-5 after #"),
    ("0 0 0 ? * 9L", "day-of-week field '9L' has '9', which is not a day 1-7 or a day name"),
    ("0 0 0 ? * 6#3,2", "day-of-week field '6#3,2' mixes # or L into a list"),
    ("0 0 0 15 * MON", "day-of-week field 'MON' cannot be combined with day-of-month '15'"),
    ("0 0 0 ? * ?", "day-of-week field '?' cannot be ? when day-of-month is ? too"),
    ("0 0 0 1 * ? 1969", "year field '1969' is out of range 1970-2099"),
    ("0 0 0 1 * ? 2030-2026", "year field '2030-2026' is a reversed range"),
    ("*/0 * * * * ?", "second field '*/0' has a step of 0"),
    ("0 */x * * * ?", "minute field '*/x' has step 'x', which is not a number"),
    ("0 ? * * * ?", "minute field '?' uses ?"),
    ("0 0 0 30 2 ?", "day-of-month field '30' never occurs in month field '2'"),
    ("0 0 0 L-31 * ?", "day-of-month field 'L-31' needs an offset 1-30 after L-"),
    ("0 0 0 L,15 * ?", "day-of-month field 'L,15' mixes L, W or ? into a list"),
    ("0 0 0 32W * ?", "day-of-month field '32W' needs a day 1-31 before W"),
    ("0 0 0 1,,2 * ?", "day-of-month field '1,,2' has an empty list item"),
    ("0 0 ? * *", "day-of-month field '?' uses Quartz syntax"),
    ("0 0 * * 5#3", "day-of-week field '5#3' uses Quartz syntax"),
    ("0 0 L * *", "day-of-month field 'L' uses Quartz syntax"),
    ("0 0 * * 8", "day-of-week field '8' is out of range 0-7"),
    ("0 0 * * MOO", "day-of-week field 'MOO' is not a day name"),
]


@pytest.mark.parametrize(("expression", "message"), INVALID)
def test_invalid_expression_names_the_field(expression: str, message: str) -> None:
    with pytest.raises(CronSyntaxError) as caught:
        compile_expression(expression)
    assert caught.value.message.startswith(message)
    with pytest.raises(pydantic.ValidationError) as invalid:
        CronConfig(expression=expression)
    assert message in str(invalid.value)

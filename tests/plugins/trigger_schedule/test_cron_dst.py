"""Time zones and DST (S1.2, S13.2): New York, Berlin and Ho Chi Minh City (no DST).

2026: New York springs forward on 8 March at 02:00 EST (07:00 UTC) and falls back on
1 November at 02:00 EDT (06:00 UTC). Berlin springs forward on 29 March at 02:00 CET
(01:00 UTC) and falls back on 25 October at 03:00 CEST (01:00 UTC).
"""

from __future__ import annotations

from itertools import pairwise

import pytest

from tests.plugins.trigger_schedule.schedule_support import (
    BERLIN,
    HCM,
    NEW_YORK,
    cron,
    fires,
    local_walls,
    utc,
)
from vecron.plugin.trigger import DstFold, DstGap, TriggerState


def test_new_york_gap_shift_fires_at_end_of_gap() -> None:
    times = fires(cron("0 30 2 * * ?", NEW_YORK), utc(2026, 3, 7), 3)
    assert local_walls(times, NEW_YORK) == [
        "Sat 2026-03-07 02:30:00 -0500",
        "Sun 2026-03-08 03:00:00 -0400",
        "Mon 2026-03-09 02:30:00 -0400",
    ]
    assert times[1] == utc(2026, 3, 8, 7)


def test_new_york_gap_skip_does_not_fire() -> None:
    times = fires(cron("0 30 2 * * ?", NEW_YORK, gap=DstGap.SKIP), utc(2026, 3, 7), 2)
    assert local_walls(times, NEW_YORK) == [
        "Sat 2026-03-07 02:30:00 -0500",
        "Mon 2026-03-09 02:30:00 -0400",
    ]


@pytest.mark.parametrize(
    ("fold", "expected"),
    [
        (DstFold.FIRST, ["Sun 2026-11-01 01:30:00 -0400", "Mon 2026-11-02 01:30:00 -0500"]),
        (DstFold.LAST, ["Sun 2026-11-01 01:30:00 -0500", "Mon 2026-11-02 01:30:00 -0500"]),
        (
            DstFold.BOTH,
            [
                "Sun 2026-11-01 01:30:00 -0400",
                "Sun 2026-11-01 01:30:00 -0500",
                "Mon 2026-11-02 01:30:00 -0500",
            ],
        ),
    ],
)
def test_new_york_fold_policies(fold: DstFold, expected: list[str]) -> None:
    times = fires(cron("0 30 1 * * ?", NEW_YORK, fold=fold), utc(2026, 10, 31, 12), len(expected))
    assert local_walls(times, NEW_YORK) == expected


def test_berlin_gap_collapses_to_one_fire() -> None:
    # 02:00, 02:15, 02:30 and 02:45 do not exist; they fire once, at 03:00 CEST.
    times = fires(cron("0 0/15 2 * * ?", BERLIN), utc(2026, 3, 28, 12), 3)
    assert local_walls(times, BERLIN) == [
        "Sun 2026-03-29 03:00:00 +0200",
        "Mon 2026-03-30 02:00:00 +0200",
        "Mon 2026-03-30 02:15:00 +0200",
    ]
    assert times[0] == utc(2026, 3, 29, 1)


def test_berlin_gap_shift_does_not_repeat_an_existing_fire() -> None:
    times = fires(cron("0 0/30 * * * ?", BERLIN), utc(2026, 3, 29, 0, 10), 4)
    assert local_walls(times, BERLIN) == [
        "Sun 2026-03-29 01:30:00 +0100",
        "Sun 2026-03-29 03:00:00 +0200",  # 02:00 and 02:30 shifted onto 03:00 itself
        "Sun 2026-03-29 03:30:00 +0200",
        "Sun 2026-03-29 04:00:00 +0200",
    ]


def test_berlin_gap_skip() -> None:
    times = fires(cron("0 0/30 * * * ?", BERLIN, gap=DstGap.SKIP), utc(2026, 3, 29, 0, 10), 3)
    assert local_walls(times, BERLIN) == [
        "Sun 2026-03-29 01:30:00 +0100",
        "Sun 2026-03-29 03:00:00 +0200",  # the real 03:00, which exists
        "Sun 2026-03-29 03:30:00 +0200",
    ]


@pytest.mark.parametrize(
    ("fold", "expected"),
    [
        (
            DstFold.FIRST,
            ["01:30 +0200", "02:00 +0200", "02:30 +0200", "03:00 +0100", "03:30 +0100"],
        ),
        (
            DstFold.LAST,
            ["01:30 +0200", "02:00 +0100", "02:30 +0100", "03:00 +0100", "03:30 +0100"],
        ),
        (
            DstFold.BOTH,
            ["01:30 +0200", "02:00 +0200", "02:30 +0200", "02:00 +0100", "02:30 +0100"],
        ),
    ],
)
def test_berlin_fold_every_half_hour(fold: DstFold, expected: list[str]) -> None:
    times = fires(cron("0 0/30 * * * ?", BERLIN, fold=fold), utc(2026, 10, 24, 23, 10), 5)
    assert [wall[15:20] + wall[23:] for wall in local_walls(times, BERLIN)] == expected
    assert times == sorted(set(times))


def test_asked_from_inside_a_fold() -> None:
    every_half_hour = "0 0/30 * * * ?"
    first_pass = utc(2026, 10, 25, 0, 40)  # 02:40 CEST
    second_pass = utc(2026, 10, 25, 1, 10)  # 02:10 CET
    state = TriggerState(anchor=first_pass)
    # `last` and `both`: the second 02:00 is still ahead when asked during the first pass.
    for fold in (DstFold.LAST, DstFold.BOTH):
        trigger = cron(every_half_hour, BERLIN, fold=fold)
        assert trigger.next_fire_time(first_pass, state) == utc(2026, 10, 25, 1)
    # `first`: the repeated wall times already fired, so the next is 03:00 CET.
    trigger = cron(every_half_hour, BERLIN, fold=DstFold.FIRST)
    assert trigger.next_fire_time(second_pass, state) == utc(2026, 10, 25, 2)
    assert trigger.next_fire_time(first_pass, state) == utc(2026, 10, 25, 2)
    trigger = cron(every_half_hour, BERLIN, fold=DstFold.LAST)
    assert trigger.next_fire_time(second_pass, state) == utc(2026, 10, 25, 1, 30)


def test_every_second_through_a_fold_stays_fast_and_unique() -> None:
    trigger = cron("* * * * * ?", BERLIN, fold=DstFold.FIRST)
    # From the second pass through 02:xx, the next fire is the first second after it.
    assert trigger.next_fire_time(
        utc(2026, 10, 25, 1, 59, 59), TriggerState(anchor=utc(2026, 1, 1))
    ) == utc(2026, 10, 25, 2)
    assert trigger.next_fire_time(
        utc(2026, 10, 25, 1, 0, 0), TriggerState(anchor=utc(2026, 1, 1))
    ) == utc(2026, 10, 25, 2)


def test_ho_chi_minh_city_has_no_dst() -> None:
    times = fires(cron("0 0 2 * * ?", HCM), utc(2026, 3, 7), 400)
    assert len(times) == 400
    assert {t.astimezone(HCM).strftime("%H:%M %z") for t in times} == {"02:00 +0700"}
    assert all(later - earlier == times[1] - times[0] for earlier, later in pairwise(times))

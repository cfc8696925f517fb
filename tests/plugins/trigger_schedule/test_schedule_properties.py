"""Hypothesis properties of the schedule triggers (S1.1-S1.3, S13.2).

Cron fire times are checked against a reference written here from the Quartz and Unix
rules, independent of the trigger's own parser and of croniter: generated expressions
carry their intended meaning, and the reference walks day by day. DST policies are
checked against an enumeration of UTC minutes around real transitions.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pydantic
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.plugins.trigger_schedule.schedule_support import fires
from vecron import MIN_PERIOD
from vecron.plugin.trigger import DstFold, DstGap, ScheduleContext, TriggerState
from vecron_trigger_schedule.cron import CronConfig, CronTrigger
from vecron_trigger_schedule.fixed import FixedRateConfig, FixedRateTrigger

PROPERTY = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)

MONTH_NAMES = {i: calendar.month_abbr[i].upper() for i in range(1, 13)}
QUARTZ_DAY_NAMES = {
    i + 1: name for i, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))
}
UNIX_DAY_NAMES = {i - 1: name for i, name in QUARTZ_DAY_NAMES.items()}
FIXED_ZONES = [
    ZoneInfo(name) for name in ("UTC", "Asia/Ho_Chi_Minh", "Asia/Kolkata", "Asia/Kathmandu")
]
DST_ZONES = [
    ZoneInfo(name) for name in ("America/New_York", "Europe/Berlin", "Australia/Lord_Howe")
]


# ---------------------------------------------------------------- generated expressions


@st.composite
def numeric_field(
    draw: st.DrawFn,
    low: int,
    high: int,
    names: dict[int, str] | None = None,
    whole: tuple[int, int] | None = None,
) -> tuple[str, frozenset[int]]:
    """A field's text and the values it means.

    Values are drawn from low-high; ``whole`` is the field's full range when that is
    wider (years: ``*`` and ``a/n`` run to 2099).
    """
    first, end = whole or (low, high)

    def token(value: int) -> str:
        return names[value] if names and value in names and draw(st.booleans()) else str(value)

    value = st.integers(low, high)
    step = st.integers(1, max(1, (high - low) // 2 + 1))
    kind = draw(
        st.sampled_from(["star", "value", "list", "range", "step", "star_step", "range_step"])
    )
    if kind == "star":
        return "*", frozenset(range(first, end + 1))
    if kind == "value":
        v = draw(value)
        return token(v), frozenset({v})
    if kind == "list":
        vs = draw(st.lists(value, min_size=1, max_size=4, unique=True))
        return ",".join(token(v) for v in vs), frozenset(vs)
    if kind == "star_step":
        s = draw(step)
        return f"*/{s}", frozenset(range(first, end + 1, s))
    a, b = sorted((draw(value), draw(value)))
    if kind == "range":
        return f"{token(a)}-{token(b)}", frozenset(range(a, b + 1))
    s = draw(step)
    if kind == "step":
        return f"{token(a)}/{s}", frozenset(range(a, max(a, end) + 1, s))
    return f"{token(a)}-{token(b)}/{s}", frozenset(range(a, b + 1, s))


@dataclass(frozen=True)
class Model:
    """What an expression means, written down when it is generated."""

    text: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int] | None
    dom: tuple[object, ...]  # ("any",) ("values", set) ("last", n) ("lw",) ("near", n)
    dow: tuple[object, ...]  # ("any",) ("values", {1..7}) ("nth", d, k) ("last", d)
    unix_or: bool = False


@st.composite
def quartz_expressions(draw: st.DrawFn) -> Model:
    second = draw(numeric_field(0, 59))
    minute = draw(numeric_field(0, 59))
    hour = draw(numeric_field(0, 23))
    month = draw(numeric_field(1, 12, MONTH_NAMES))
    dom_kind = draw(st.sampled_from(["*", "?", "values", "L", "L-n", "LW", "nW"]))
    dom: tuple[object, ...]
    if dom_kind in ("*", "?"):
        dom_text, dom = dom_kind, ("any",)
    elif dom_kind == "values":
        dom_text, values = draw(numeric_field(1, 31))
        dom = ("values", values)
    elif dom_kind == "L":
        dom_text, dom = "L", ("last", 0)
    elif dom_kind == "L-n":
        n = draw(st.integers(1, 30))
        dom_text, dom = f"L-{n}", ("last", n)
    elif dom_kind == "LW":
        dom_text, dom = "LW", ("lw",)
    else:
        n = draw(st.integers(1, 31))
        dom_text, dom = f"{n}W", ("near", n)
    day = st.integers(1, 7)

    def day_token(value: int) -> str:
        return QUARTZ_DAY_NAMES[value] if draw(st.booleans()) else str(value)

    dow: tuple[object, ...]
    if dom_kind not in ("*", "?"):
        dow_text, dow = "?", ("any",)
    else:
        choices = ["*", "values", "nth", "last"] + (["?"] if dom_kind == "*" else [])
        dow_kind = draw(st.sampled_from(choices))
        if dow_kind in ("*", "?"):
            dow_text, dow = dow_kind, ("any",)
        elif dow_kind == "values":
            dow_text, values = draw(numeric_field(1, 7, QUARTZ_DAY_NAMES))
            dow = ("values", values)
        elif dow_kind == "nth":
            d, k = draw(day), draw(st.integers(1, 5))
            dow_text, dow = f"{day_token(d)}#{k}", ("nth", d, k)
        else:
            d = draw(day)
            dow_text, dow = f"{day_token(d)}L", ("last", d)
    fields = [second[0], minute[0], hour[0], dom_text, month[0], dow_text]
    years: frozenset[int] | None = None
    if draw(st.booleans()):
        year_text, years = draw(numeric_field(2026, 2040, whole=(1970, 2099)))
        fields.append(year_text)
        if year_text == "*":
            years = None
    return Model(" ".join(fields), second[1], minute[1], hour[1], month[1], years, dom, dow)


@st.composite
def unix_expressions(draw: st.DrawFn) -> Model:
    minute = draw(numeric_field(0, 59))
    hour = draw(numeric_field(0, 23))
    dom_text, dom_values = draw(numeric_field(1, 31))
    month = draw(numeric_field(1, 12, MONTH_NAMES))
    # 7 is Sunday too, but "*" and "a/n" stop at 6 so Sunday is not counted twice.
    dow_text, dow_values = draw(numeric_field(0, 7, UNIX_DAY_NAMES, whole=(0, 6)))
    quartz_days = frozenset(v % 7 + 1 for v in dow_values)
    both = dom_text != "*" and dow_text != "*"
    return Model(
        f"{minute[0]} {hour[0]} {dom_text} {month[0]} {dow_text}",
        frozenset({0}),
        minute[1],
        hour[1],
        month[1],
        None,
        ("any",) if dom_text == "*" else ("values", dom_values),
        ("any",) if dow_text == "*" else ("values", quartz_days),
        unix_or=both,
    )


# ---------------------------------------------------------------- the reference matcher


def _last_weekday(d: date, last: int) -> int:
    day = last
    while date(d.year, d.month, day).weekday() >= 5:
        day -= 1
    return day


def _nearest_weekday(d: date, wanted: int, last: int) -> int:
    day = min(wanted, last)
    weekday = date(d.year, d.month, day).weekday()
    if weekday == 5:
        return day - 1 if day > 1 else day + 2
    if weekday == 6:
        return day + 1 if day < last else day - 2
    return day


def dom_matches(model: Model, d: date) -> bool:
    last = calendar.monthrange(d.year, d.month)[1]
    kind = model.dom[0]
    if kind == "any":
        return True
    if kind == "values":
        return d.day in model.dom[1]  # type: ignore[operator]
    if kind == "last":
        return d.day == last - model.dom[1]  # type: ignore[operator]
    if kind == "lw":
        return d.day == _last_weekday(d, last)
    return d.day == _nearest_weekday(d, model.dom[1], last)  # type: ignore[arg-type]


def dow_matches(model: Model, d: date) -> bool:
    quartz_day = d.isoweekday() % 7 + 1  # 1=SUN … 7=SAT
    kind = model.dow[0]
    if kind == "any":
        return True
    if kind == "values":
        return quartz_day in model.dow[1]  # type: ignore[operator]
    if kind == "nth":
        return quartz_day == model.dow[1] and (d.day - 1) // 7 + 1 == model.dow[2]
    last = calendar.monthrange(d.year, d.month)[1]
    return quartz_day == model.dow[1] and d.day + 7 > last


def day_matches(model: Model, d: date) -> bool:
    if d.month not in model.months or (model.years is not None and d.year not in model.years):
        return False
    if model.unix_or:
        return dom_matches(model, d) or dow_matches(model, d)
    return dom_matches(model, d) and dow_matches(model, d)


def wall_matches(model: Model, wall: datetime) -> bool:
    return (
        wall.second in model.seconds
        and wall.minute in model.minutes
        and wall.hour in model.hours
        and day_matches(model, wall.date())
    )


def reference_next(model: Model, wall: datetime, horizon_days: int) -> datetime | None:
    """The first matching wall time strictly after ``wall``, walking day by day."""
    hours, minutes, seconds = sorted(model.hours), sorted(model.minutes), sorted(model.seconds)
    for offset in range(horizon_days):
        day = wall.date() + timedelta(days=offset)
        if not day_matches(model, day):
            continue
        for h in hours:
            if offset == 0 and h < wall.hour:
                continue
            for m in minutes:
                if offset == 0 and (h, m) < (wall.hour, wall.minute):
                    continue
                for s in seconds:
                    candidate = datetime(day.year, day.month, day.day, h, m, s)
                    if candidate > wall:
                        return candidate
    return None


def build(model: Model, tz: ZoneInfo, **context: object) -> CronTrigger:
    try:
        config = CronConfig(expression=model.text)
    except pydantic.ValidationError as exc:
        reason = str(exc)
    else:
        return CronTrigger(config, ScheduleContext(tz=tz, **context))  # type: ignore[arg-type]
    # The only legitimate refusal of a generated expression: a day no chosen month has.
    assert "never occurs" in reason, f"{model.text!r} refused: {reason}"
    assume(False)
    raise AssertionError("unreachable")


instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2034, 12, 31), timezones=st.just(UTC)
)
HORIZON_DAYS = 366 * 40


def assert_matches_reference(model: Model, tz: ZoneInfo, after: datetime) -> None:
    trigger = build(model, tz)
    state = TriggerState(anchor=after)
    for _ in range(3):
        expected_wall = reference_next(
            model, after.astimezone(tz).replace(tzinfo=None), HORIZON_DAYS
        )
        actual = trigger.next_fire_time(after, state)
        if expected_wall is None:
            horizon = after + timedelta(days=HORIZON_DAYS - 1)
            assert actual is None or actual > horizon, model.text
            return
        expected = expected_wall.replace(tzinfo=tz).astimezone(UTC)
        assert actual == expected, f"{model.text!r} after {after.isoformat()}"
        assert actual.tzinfo is UTC
        assert wall_matches(model, actual.astimezone(tz).replace(tzinfo=None))
        after = actual


@PROPERTY
@given(quartz_expressions(), st.sampled_from(FIXED_ZONES), instants)
def test_quartz_fire_times_match_their_expression(
    model: Model, tz: ZoneInfo, after: datetime
) -> None:
    assert_matches_reference(model, tz, after)


@PROPERTY
@given(unix_expressions(), st.sampled_from(FIXED_ZONES), instants)
def test_unix_fire_times_match_their_expression(
    model: Model, tz: ZoneInfo, after: datetime
) -> None:
    assert_matches_reference(model, tz, after)


@PROPERTY
@given(
    quartz_expressions(),
    st.sampled_from(FIXED_ZONES + DST_ZONES),
    instants,
    st.sampled_from(list(DstGap)),
    st.sampled_from(list(DstFold)),
)
def test_fire_times_strictly_increase_and_are_aware(
    model: Model, tz: ZoneInfo, after: datetime, gap: DstGap, fold: DstFold
) -> None:
    trigger = build(model, tz, dst_gap=gap, dst_fold=fold)
    times = fires(trigger, after, 8)
    previous = after
    for fire in times:
        assert fire.tzinfo is UTC
        assert fire > previous
        previous = fire


@PROPERTY
@given(
    quartz_expressions(),
    st.sampled_from(FIXED_ZONES + DST_ZONES),
    instants,
    st.timedeltas(timedelta(0), timedelta(days=40)),
    st.timedeltas(timedelta(0), timedelta(days=400)),
)
def test_start_and_end_bound_the_fires(
    model: Model, tz: ZoneInfo, after: datetime, to_start: timedelta, length: timedelta
) -> None:
    start_at = after + to_start
    end_at = start_at + length
    bounded = fires(build(model, tz, start_at=start_at, end_at=end_at), after, 12)
    assert all(start_at <= fire <= end_at for fire in bounded)
    # Exactly the unbounded fires that fall inside the window.
    unbounded = fires(build(model, tz), max(after, start_at - timedelta(microseconds=1)), 12)
    inside = [fire for fire in unbounded if fire <= end_at]
    assert bounded[: len(inside)] == inside[: len(bounded)]
    if len(inside) < len(unbounded):  # the unbounded run saw the whole window
        assert bounded == inside


# ---------------------------------------------------------------- DST, by enumeration


@cache
def transitions(tz: ZoneInfo) -> tuple[datetime, ...]:
    """Instants in 2026-2027 where the UTC offset changes, found minute by minute."""
    found = []
    hour = datetime(2026, 1, 1, tzinfo=UTC)
    while hour.year < 2028:
        nxt = hour + timedelta(hours=1)
        if offset(hour, tz) != offset(nxt, tz):
            minute = hour
            while offset(minute, tz) == offset(hour, tz):
                minute += timedelta(minutes=1)
            found.append(minute)
        hour = nxt
    return tuple(found)


@st.composite
def minute_expressions(draw: st.DrawFn) -> Model:
    minute = draw(numeric_field(0, 59))
    hour_text, hours = draw(st.one_of(numeric_field(0, 23), st.just(("0-4", frozenset(range(5))))))
    assume(len(minute[1]) <= 12)  # keep each example quick: at most 12 fires an hour
    return Model(
        f"0 {minute[0]} {hour_text} * * ?",
        frozenset({0}),
        minute[1],
        hours,
        frozenset(range(1, 13)),
        None,
        ("any",),
        ("any",),
    )


def offset(instant: datetime, tz: ZoneInfo) -> timedelta:
    value = instant.astimezone(tz).utcoffset()
    assert value is not None
    return value


def expected_fires(
    model: Model, tz: ZoneInfo, gap: DstGap, fold: DstFold, low: datetime, high: datetime
) -> set[datetime]:
    """Every planned fire in [low, high] by enumerating UTC minutes."""
    occurrences: dict[datetime, list[datetime]] = defaultdict(list)
    expected: set[datetime] = set()
    minute = low.replace(second=0, microsecond=0)
    while minute <= high:
        wall = minute.astimezone(tz).replace(tzinfo=None)
        if wall_matches(model, wall):
            occurrences[wall].append(minute)
        before = minute - timedelta(minutes=1)
        if gap is DstGap.SHIFT and offset(minute, tz) > offset(before, tz):
            missing = before.astimezone(tz).replace(tzinfo=None) + timedelta(minutes=1)
            while missing < wall:
                if wall_matches(model, missing):
                    expected.add(minute)
                missing += timedelta(minutes=1)
        minute += timedelta(minutes=1)
    for times in occurrences.values():
        if fold is DstFold.FIRST or len(times) == 1:
            expected.add(times[0])
        elif fold is DstFold.LAST:
            expected.add(times[-1])
        else:
            expected.update(times)
    return expected


@settings(PROPERTY, max_examples=150)
@given(
    minute_expressions(),
    st.sampled_from(DST_ZONES),
    st.data(),
    st.sampled_from(list(DstGap)),
    st.sampled_from(list(DstFold)),
)
def test_dst_policies_fire_as_documented_and_never_twice(
    model: Model, tz: ZoneInfo, data: st.DataObject, gap: DstGap, fold: DstFold
) -> None:
    switch = data.draw(st.sampled_from(transitions(tz)))
    after = switch + data.draw(st.timedeltas(timedelta(hours=-3), timedelta(hours=2)))
    end = switch + timedelta(hours=3)
    want = sorted(
        t
        for t in expected_fires(
            model, tz, gap, fold, after - timedelta(hours=4), end + timedelta(hours=1)
        )
        if after < t <= end
    )
    trigger = build(model, tz, dst_gap=gap, dst_fold=fold)
    got: list[datetime] = []
    for fire in fires(trigger, after, 200):
        if fire > end:
            break
        got.append(fire)
    assert got == want, f"{model.text!r} in {tz.key} gap={gap} fold={fold} after {after}"
    walls = [fire.astimezone(tz).replace(tzinfo=None) for fire in got]
    per_wall = max((walls.count(w) for w in walls), default=0)
    assert per_wall <= (2 if fold is DstFold.BOTH else 1)


# ---------------------------------------------------------------- fixed rate


@PROPERTY
@given(
    anchor=instants,
    period=st.timedeltas(MIN_PERIOD, timedelta(days=3)),
    offsets=st.lists(st.timedeltas(timedelta(days=-2), timedelta(days=30)), min_size=1, max_size=8),
)
def test_fixed_rate_never_drifts(
    anchor: datetime, period: timedelta, offsets: list[timedelta]
) -> None:
    assume(period > timedelta(0))
    trigger = FixedRateTrigger(
        FixedRateConfig(period=period), ScheduleContext(tz=ZoneInfo("Europe/Berlin"))
    )
    state = TriggerState(anchor=anchor)
    for offset in offsets:
        after = anchor + offset
        fire = trigger.next_fire_time(after, state)
        assert fire is not None
        assert fire.tzinfo is UTC
        assert fire > after
        assert fire >= anchor
        assert (fire - anchor) % period == timedelta(0)
        # The first grid point after `after`, not a later one.
        assert fire == anchor or fire - period <= after

"""Cron expressions: Quartz (6 or 7 fields) and Unix (5 fields), parsed once.

The parser here is vecron's own, so that an invalid expression is rejected with a
message naming the bad field and so that Quartz numbering (1=SUN … 7=SAT) is applied
exactly once. The parsed expression is handed to croniter as an explicit, canonical
expression (lists of numbers, ``L``, ``nW``, ``L<d>``, ``d#k``), which avoids croniter's
own quirks with ranges and steps. croniter only ever sees naive wall-clock times:
mapping wall times to instants across DST transitions is :mod:`.wall_clock`'s job.

``L-n`` (n days before the last day) and ``LW`` (last weekday of the month) are not in
croniter; expressions using them are matched here, month by month.
"""

from __future__ import annotations

import calendar
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Final

from croniter import CroniterBadDateError, croniter

from vecron import ValidationError


class CronSyntaxError(ValidationError, ValueError):
    """An invalid cron expression. The message names the bad field.

    It is a ``ValueError`` too, so a pydantic validator raising it becomes an ordinary
    pydantic validation error.
    """


MONTH_NAMES: Final[Mapping[str, int]] = {
    name.upper(): number for number, name in enumerate(calendar.month_abbr) if name
}
_DAY_ABBRS: Final = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
QUARTZ_DAY_NAMES: Final[Mapping[str, int]] = {name: i + 1 for i, name in enumerate(_DAY_ABBRS)}
UNIX_DAY_NAMES: Final[Mapping[str, int]] = {name: i for i, name in enumerate(_DAY_ABBRS)}

#: Years croniter can compute; Quartz allows the same range.
FIRST_YEAR: Final = 1970
LAST_YEAR: Final = 2099

_ALIASES: Final[Mapping[str, str]] = {
    "@yearly": "0 0 0 1 1 ?",
    "@annually": "0 0 0 1 1 ?",
    "@monthly": "0 0 0 1 * ?",
    "@weekly": "0 0 0 ? * SUN",
    "@daily": "0 0 0 * * ?",
    "@midnight": "0 0 0 * * ?",
    "@hourly": "0 0 * * * ?",
}

# Longest month lengths, with February's leap day: used to reject days that never occur.
_MAX_DAYS: Final = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


@dataclass(frozen=True, slots=True)
class _FieldSpec:
    name: str
    low: int
    high: int
    #: Highest value ``*`` stands for (the Unix day-of-week accepts 7 but ``*`` is 0-6).
    star_high: int
    names: Mapping[str, int] | None = None
    name_kind: str = ""
    #: Ranges may wrap around (``22-2`` in hours); years do not.
    cyclic: bool = True


SECOND: Final = _FieldSpec("second", 0, 59, 59)
MINUTE: Final = _FieldSpec("minute", 0, 59, 59)
HOUR: Final = _FieldSpec("hour", 0, 23, 23)
DAY_OF_MONTH: Final = _FieldSpec("day-of-month", 1, 31, 31)
MONTH: Final = _FieldSpec("month", 1, 12, 12, MONTH_NAMES, "month")
QUARTZ_DAY_OF_WEEK: Final = _FieldSpec("day-of-week", 1, 7, 7, QUARTZ_DAY_NAMES, "day")
UNIX_DAY_OF_WEEK: Final = _FieldSpec("day-of-week", 0, 7, 6, UNIX_DAY_NAMES, "day")
YEAR: Final = _FieldSpec("year", FIRST_YEAR, LAST_YEAR, LAST_YEAR, cyclic=False)


def _bad(spec: _FieldSpec, token: str, problem: str) -> CronSyntaxError:
    return CronSyntaxError(f"{spec.name} field '{token}' {problem}")


def _value(token: str, spec: _FieldSpec) -> int:
    upper = token.upper()
    if upper.isdigit() and upper.isascii():
        number = int(upper)
        if not spec.low <= number <= spec.high:
            raise _bad(spec, token, f"is out of range {spec.low}-{spec.high}")
        return number
    if spec.names is not None:
        if upper in spec.names:
            return spec.names[upper]
        raise _bad(spec, token, f"is not a {spec.name_kind} name")
    raise _bad(spec, token, "is not a number")


def _span(low: int, high: int, step: int, spec: _FieldSpec, item: str) -> Iterable[int]:
    if low <= high:
        return range(low, high + 1, step)
    if not spec.cyclic:
        raise _bad(spec, item, "is a reversed range")
    # A wrapping range runs to the end of the cycle and on from its start, and the
    # step keeps counting across the wrap (FRI-MON/2 is FRI, SUN).
    around = [*range(low, max(spec.star_high, low) + 1), *range(spec.low, high + 1)]
    return around[::step]


def parse_values(text: str, spec: _FieldSpec) -> frozenset[int]:
    """Numbers, names, ``*``, ranges ``a-b``, steps ``*/n`` ``a/n`` ``a-b/n`` and lists."""
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise _bad(spec, text, "has an empty list item")
        base, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not (step_text.isdigit() and step_text.isascii()):
                raise _bad(spec, item, f"has step '{step_text}', which is not a number")
            step = int(step_text)
            if step < 1:
                raise _bad(spec, item, "has a step of 0")
        if base == "*":
            low, high = spec.low, spec.star_high
        elif "-" in base[1:]:
            first, _, last = base.partition("-")
            low, high = _value(first, spec), _value(last, spec)
        else:
            low = _value(base, spec)
            # "a/n" counts from a to the end of the field; a lone value is just itself.
            high = max(spec.star_high, low) if slash else low
        values.update(_span(low, high, step, spec, item))
    return frozenset(values)


@dataclass(frozen=True, slots=True)
class _DayOfMonth:
    """A parsed day-of-month field. ``values`` is None when unrestricted."""

    values: frozenset[int] | None = None
    last_offset: int | None = None  # L (0) or L-n
    last_weekday: bool = False  # LW
    nearest_weekday: int | None = None  # nW


@dataclass(frozen=True, slots=True)
class _DayOfWeek:
    """A parsed day-of-week field, days numbered 0=SUN … 6=SAT. None: unrestricted."""

    values: frozenset[int] | None = None
    nth: tuple[int, int] | None = None  # (day, k) for d#k
    last_of: int | None = None  # dL: the last such day of the month


def _quartz_day_of_month(text: str) -> _DayOfMonth:
    upper = text.upper()
    if upper in ("*", "?"):
        return _DayOfMonth()
    if upper == "L":
        return _DayOfMonth(last_offset=0)
    if upper == "LW":
        return _DayOfMonth(last_weekday=True)
    has_special = any(mark in upper for mark in "LW?#")
    if has_special and "," in upper:
        raise _bad(DAY_OF_MONTH, text, "mixes L, W or ? into a list; they must stand alone")
    if upper.startswith("L-"):
        offset = upper[2:]
        if not (offset.isdigit() and offset.isascii()) or not 1 <= int(offset) <= 30:
            raise _bad(DAY_OF_MONTH, text, "needs an offset 1-30 after L-")
        return _DayOfMonth(last_offset=int(offset))
    if upper.endswith("W"):
        day = upper[:-1]
        if not (day.isdigit() and day.isascii()) or not 1 <= int(day) <= 31:
            raise _bad(DAY_OF_MONTH, text, "needs a day 1-31 before W")
        return _DayOfMonth(nearest_weekday=int(day))
    if has_special:
        raise _bad(DAY_OF_MONTH, text, "is not valid; use L, L-n, LW, nW, ? or numbers")
    return _DayOfMonth(values=parse_values(text, DAY_OF_MONTH))


def _quartz_day(token: str, whole: str) -> int:
    """One Quartz day (number 1-7 or name) as 0=SUN … 6=SAT."""
    try:
        return _value(token, QUARTZ_DAY_OF_WEEK) - 1
    except CronSyntaxError:
        problem = f"has '{token}', which is not a day 1-7 or a day name"
        raise _bad(QUARTZ_DAY_OF_WEEK, whole, problem) from None


def _quartz_day_of_week(text: str) -> _DayOfWeek:
    upper = text.upper()
    if upper in ("*", "?"):
        return _DayOfWeek()
    if upper == "L":  # Quartz: a lone L in day-of-week is 7, Saturday
        return _DayOfWeek(values=frozenset({6}))
    special = "#" in upper or "?" in upper or (upper.endswith("L") and len(upper) > 1)
    if special and "," in upper:
        raise _bad(QUARTZ_DAY_OF_WEEK, text, "mixes # or L into a list; they must stand alone")
    if "#" in upper:
        day, _, nth = upper.partition("#")
        if not (nth.isdigit() and nth.isascii()) or not 1 <= int(nth) <= 5:
            raise _bad(QUARTZ_DAY_OF_WEEK, text, "needs an occurrence 1-5 after #")
        return _DayOfWeek(nth=(_quartz_day(day, text), int(nth)))
    if upper.endswith("L"):
        return _DayOfWeek(last_of=_quartz_day(upper[:-1], text))
    if "?" in upper:
        raise _bad(QUARTZ_DAY_OF_WEEK, text, "mixes ? with other values; ? must stand alone")
    return _DayOfWeek(values=frozenset(v - 1 for v in parse_values(text, QUARTZ_DAY_OF_WEEK)))


def _reject_quartz_only(spec: _FieldSpec, text: str) -> None:
    upper = text.upper()
    quartz_only = "#" in upper or "?" in upper
    if spec is DAY_OF_MONTH:
        quartz_only = quartz_only or "L" in upper or "W" in upper
    if spec is UNIX_DAY_OF_WEEK:
        quartz_only = quartz_only or (upper.endswith("L") and upper[:-1].isdigit())
    if quartz_only:
        raise _bad(spec, text, "uses Quartz syntax (? L W #), which needs 6 or 7 fields")


def _fmt(values: Iterable[int]) -> str:
    return ",".join(str(v) for v in sorted(values))


class CronExpression:
    """A parsed, validated cron expression that finds the next matching wall time.

    Build it with :func:`compile_expression` (cached). It is safe to share between
    triggers and threads.
    """

    __slots__ = (
        "_croniter",
        "_lock",
        "day_of_month",
        "day_of_week",
        "hours",
        "minutes",
        "months",
        "quartz",
        "seconds",
        "text",
        "years",
    )

    def __init__(self, text: str) -> None:
        self.text = text
        expanded = _ALIASES.get(text.strip().lower(), text)
        fields = expanded.split()
        if len(fields) not in (5, 6, 7):
            raise CronSyntaxError(f"expected 5, 6 or 7 fields, got {len(fields)}")
        self.quartz = len(fields) != 5
        if self.quartz:
            self._parse_quartz(fields)
        else:
            self._parse_unix(fields)
        self._check_days_exist(fields)
        self._lock = threading.Lock()
        self._croniter: croniter | None = None
        if not self._matched_here():
            self._croniter = croniter(
                self._croniter_text(),
                datetime(2000, 1, 1),
                second_at_beginning=True,
                # Quartz never restricts both day fields, so OR only happens in Unix
                # expressions, where it is the documented Vixie behaviour.
                day_or=not self.quartz,
                max_years_between_matches=LAST_YEAR - FIRST_YEAR,
            )

    def _parse_quartz(self, fields: list[str]) -> None:
        second, minute, hour, dom, month, dow, *year = fields
        for text, spec in ((second, SECOND), (minute, MINUTE), (hour, HOUR), (month, MONTH)):
            if "?" in text:
                raise _bad(spec, text, "uses ?, which only day-of-month and day-of-week allow")
        self.seconds = tuple(sorted(parse_values(second, SECOND)))
        self.minutes = tuple(sorted(parse_values(minute, MINUTE)))
        self.hours = tuple(sorted(parse_values(hour, HOUR)))
        self.day_of_month = _quartz_day_of_month(dom)
        self.months = frozenset(parse_values(month, MONTH))
        self.day_of_week = _quartz_day_of_week(dow)
        self.years: frozenset[int] | None = None
        if year and year[0] != "*":
            if "?" in year[0]:
                raise _bad(YEAR, year[0], "uses ?, which only day-of-month and day-of-week allow")
            self.years = parse_values(year[0], YEAR)
        if dom == "?" and dow == "?":
            raise _bad(QUARTZ_DAY_OF_WEEK, dow, "cannot be ? when day-of-month is ? too (use *)")
        if dom not in ("*", "?") and dow not in ("*", "?"):
            raise _bad(
                QUARTZ_DAY_OF_WEEK,
                dow,
                f"cannot be combined with day-of-month '{dom}': "
                "use ? in day-of-month or day-of-week",
            )

    def _parse_unix(self, fields: list[str]) -> None:
        minute, hour, dom, month, dow = fields
        specs = (MINUTE, HOUR, DAY_OF_MONTH, MONTH, UNIX_DAY_OF_WEEK)
        for text, spec in zip(fields, specs, strict=True):
            _reject_quartz_only(spec, text)
        self.seconds = (0,)
        self.minutes = tuple(sorted(parse_values(minute, MINUTE)))
        self.hours = tuple(sorted(parse_values(hour, HOUR)))
        self.months = parse_values(month, MONTH)
        self.years = None
        # POSIX: a day field is restricted unless it is exactly "*"; when both are
        # restricted a day matches if EITHER matches (Vixie cron's OR).
        self.day_of_month = _DayOfMonth(
            values=None if dom == "*" else parse_values(dom, DAY_OF_MONTH)
        )
        days = None if dow == "*" else frozenset(v % 7 for v in parse_values(dow, UNIX_DAY_OF_WEEK))
        self.day_of_week = _DayOfWeek(values=days)

    def _check_days_exist(self, fields: list[str]) -> None:
        """Reject a day-of-month that no chosen month has (``0 0 0 30 2 ?``)."""
        dom = self.day_of_month
        if self.day_of_week != _DayOfWeek() and not self.quartz:
            return  # Unix OR: the day-of-week side still fires
        month_text = fields[4] if self.quartz else fields[3]
        longest = max(_MAX_DAYS[m] for m in self.months)
        if dom.values is not None and min(dom.values) > longest:
            raise _bad(
                DAY_OF_MONTH,
                fields[3] if self.quartz else fields[2],
                f"never occurs in month field '{month_text}'",
            )
        if dom.last_offset is not None and longest - dom.last_offset < 1:
            raise _bad(DAY_OF_MONTH, fields[3], f"never occurs in month field '{month_text}'")

    def _matched_here(self) -> bool:
        dom = self.day_of_month
        return dom.last_weekday or bool(dom.last_offset)

    def _croniter_text(self) -> str:
        dom = self.day_of_month
        if dom.last_offset == 0:
            dom_text = "L"
        elif dom.nearest_weekday is not None:
            dom_text = f"{dom.nearest_weekday}W"
        else:
            dom_text = "*" if dom.values is None else _fmt(dom.values)
        dow = self.day_of_week
        if dow.nth is not None:
            dow_text = f"{dow.nth[0]}#{dow.nth[1]}"
        elif dow.last_of is not None:
            dow_text = f"L{dow.last_of}"
        else:
            dow_text = "*" if dow.values is None else _fmt(dow.values)
        months = "*" if len(self.months) == 12 else _fmt(self.months)
        parts = [
            _fmt(self.seconds),
            _fmt(self.minutes),
            _fmt(self.hours),
            dom_text,
            months,
            dow_text,
        ]
        if self.years is not None:
            parts.append(_fmt(self.years))
        return " ".join(parts)

    def next_after(self, wall: datetime) -> datetime | None:
        """The first matching wall time strictly after the naive ``wall``, or None."""
        if wall.year > LAST_YEAR:
            return None
        if self._croniter is None:
            return self._next_special(wall)
        # Fire times are whole seconds, so dropping the microseconds changes nothing
        # and keeps croniter's float timestamps exact.
        start = wall.replace(microsecond=0)
        with self._lock:  # croniter keeps the start time on the instance
            try:
                found: datetime = self._croniter.get_next(datetime, start_time=start)
            except CroniterBadDateError:
                return None
        return found if found.year <= LAST_YEAR else None

    def _special_day(self, year: int, month: int) -> int | None:
        last = calendar.monthrange(year, month)[1]
        if self.day_of_month.last_weekday:
            weekday = calendar.weekday(year, month, last)
            return last - max(0, weekday - 4)  # Saturday -> Friday, Sunday -> Friday
        day = last - (self.day_of_month.last_offset or 0)
        return day if day >= 1 else None

    def _next_special(self, wall: datetime) -> datetime | None:
        """Next match for ``L-n`` / ``LW``, which croniter cannot express."""
        year, month = wall.year, wall.month
        today = wall.date()
        while year <= LAST_YEAR:
            if self.years is not None and year > max(self.years):
                return None
            if month in self.months and (self.years is None or year in self.years):
                day = self._special_day(year, month)
                if day is not None and date(year, month, day) >= today:
                    if date(year, month, day) == today:
                        time = self._next_time(wall.hour, wall.minute, wall.second)
                    else:
                        time = (self.hours[0], self.minutes[0], self.seconds[0])
                    if time is not None:
                        return datetime(year, month, day, *time)
            month += 1
            if month > 12:
                year, month = year + 1, 1
        return None

    def _next_time(self, hour: int, minute: int, second: int) -> tuple[int, int, int] | None:
        """The first time of day strictly after hour:minute:second(.micro)."""
        for h in self.hours[bisect_left(self.hours, hour) :]:
            if h > hour:
                return (h, self.minutes[0], self.seconds[0])
            for m in self.minutes[bisect_left(self.minutes, minute) :]:
                if m > minute:
                    return (h, m, self.seconds[0])
                later = bisect_right(self.seconds, second)
                if later < len(self.seconds):
                    return (h, m, self.seconds[later])
        return None


@lru_cache(maxsize=4096)
def compile_expression(text: str) -> CronExpression:
    """Parse and validate ``text`` (cached: many jobs share few expressions).

    :raises CronSyntaxError: the expression is invalid; the message names the field.
    """
    return CronExpression(text)

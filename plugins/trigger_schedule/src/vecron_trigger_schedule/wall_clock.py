"""Wall-clock times in a time zone, mapped to instants under a DST policy (S1.2, S13.2).

A wall time in a DST gap (spring forward) does not exist: with ``gap=shift`` it fires
once at the first valid instant after the gap (the transition itself, e.g. 02:30 in New
York fires at 03:00 EDT), with ``gap=skip`` not at all. A wall time in a fold (fall
back) happens twice: ``fold=first`` fires at the earlier instant, ``last`` at the later,
``both`` at each. Several wall times shifted to the same instant fire once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final, TypeAlias
from zoneinfo import ZoneInfo

from vecron import DstFold, DstGap, ValidationError

TICK: Final = timedelta(microseconds=1)
#: Each scan step either returns or jumps over a whole gap or fold, so this is plenty.
_MAX_SCAN: Final = 1000

NextWall: TypeAlias = Callable[[datetime], datetime | None]


def require_aware(value: datetime, name: str = "after") -> datetime:
    """Reject a naive datetime: every instant a trigger sees must be aware."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(f"{name} must be timezone-aware, got {value.isoformat()}", field=name)
    return value


def format_offset(offset: timedelta) -> str:
    """``+07:00``, ``-04:00``, ``+05:45``."""
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def format_wall(wall: datetime) -> str:
    """``02:30`` (``02:30:15`` when the seconds matter)."""
    return wall.strftime("%H:%M:%S" if wall.second else "%H:%M")


class WallClock:
    """One time zone plus its DST policy."""

    __slots__ = ("fold", "gap", "tz")

    def __init__(self, tz: ZoneInfo, gap: DstGap = DstGap.SHIFT, fold: DstFold = DstFold.FIRST):
        self.tz = tz
        self.gap = gap
        self.fold = fold

    def offsets(self, wall: datetime) -> tuple[timedelta, timedelta]:
        """UTC offsets of a naive wall time read with fold=0 and fold=1.

        Equal: an ordinary time. fold=0 larger: it happens twice (fold). fold=0
        smaller: it does not exist (gap). Valid whatever the sign of the DST change.
        """
        earlier = wall.replace(tzinfo=self.tz, fold=0).utcoffset()
        later = wall.replace(tzinfo=self.tz, fold=1).utcoffset()
        assert earlier is not None  # ZoneInfo always answers
        assert later is not None
        return earlier, later

    def offset_at(self, instant: datetime) -> timedelta:
        offset = instant.astimezone(self.tz).utcoffset()
        assert offset is not None
        return offset

    def resolve(self, wall: datetime) -> tuple[datetime, ...]:
        """The UTC instants at which the naive wall time fires, ascending.

        Empty for a skipped gap time; two instants in a fold with ``both``.
        """
        wall = wall.replace(fold=0)
        before, after = self.offsets(wall)
        if before == after:
            return ((wall - before).replace(tzinfo=UTC),)
        first = (wall - before).replace(tzinfo=UTC)
        second = (wall - after).replace(tzinfo=UTC)
        if before > after:
            if self.fold is DstFold.FIRST:
                return (first,)
            if self.fold is DstFold.LAST:
                return (second,)
            return (first, second)
        if self.gap is DstGap.SKIP:
            return ()
        # In a gap `second` (read with the new offset) lies before the transition and
        # `first` after it; the transition is the first valid instant after the gap.
        return (self.transition(second, first),)

    def transition(self, low: datetime, high: datetime) -> datetime:
        """The first instant in (low, high] whose UTC offset differs from low's.

        ``low`` and ``high`` must have different offsets. Binary search to the
        microsecond: only called on DST transition nights.
        """
        start = self.offset_at(low)
        lo, hi = 0, (high - low) // TICK
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.offset_at(low + mid * TICK) == start:
                lo = mid
            else:
                hi = mid
        return (low + hi * TICK).astimezone(UTC)

    def next_instant(self, after: datetime, next_wall: NextWall) -> datetime | None:
        """The first fire instant strictly after ``after``.

        ``next_wall(w)`` gives the first matching naive wall time strictly after ``w``
        (or None when there is none).
        """
        local = after.astimezone(self.tz)
        wall = local.replace(tzinfo=None, fold=0)
        before, later = self.offsets(wall)
        if before > later and local.fold == 0 and self.fold is not DstFold.FIRST:
            # `after` is in the first pass through a fold: wall times already passed on
            # the clock come round again, and their second occurrences are still ahead.
            second = (wall - later).replace(tzinfo=UTC)
            fold_start = self.transition(after, second).replace(tzinfo=None) + later
            early = self._scan(after, fold_start - TICK, next_wall)
            if self.fold is DstFold.LAST:
                return early
            found = [t for t in (early, self._scan(after, wall, next_wall)) if t is not None]
            return min(found, default=None)
        return self._scan(after, wall, next_wall)

    def _scan(self, after: datetime, wall: datetime, next_wall: NextWall) -> datetime | None:
        """Walk matching wall times from ``wall`` to the first that fires after ``after``.

        Under every policy the instants of successive wall times only move forward
        from where this is started, so the first hit is the answer.
        """
        for _ in range(_MAX_SCAN):
            found = next_wall(wall)
            if found is None:
                return None
            wall = found
            for instant in self.resolve(wall):
                if instant > after:
                    return instant
            wall = self._region_end(wall) - TICK
        return None

    def _region_end(self, wall: datetime) -> datetime:
        """Where the gap or fold holding ``wall`` ends on the wall clock.

        Used to jump over a skipped gap, or over the rest of a fold whose first
        occurrences are behind us, in one step instead of one wall time at a time.
        """
        before, after = self.offsets(wall)
        if before == after:
            return wall + TICK
        early = (wall - max(before, after)).replace(tzinfo=UTC)
        late = (wall - min(before, after)).replace(tzinfo=UTC)
        switch = self.transition(early, late).replace(tzinfo=None)
        if before > after:  # fold: ends where the clock passes its top again
            return switch + before
        return switch + after  # gap: the clock resumes at the new offset

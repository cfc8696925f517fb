"""What a schedule does with wall times that a daylight-saving change skips or repeats."""

from __future__ import annotations

from enum import StrEnum


class DstGap(StrEnum):
    """A wall time that does not exist (spring forward)."""

    SHIFT = "shift"  # fire once at the first valid instant after it
    SKIP = "skip"  # do not fire


class DstFold(StrEnum):
    """A wall time that happens twice (fall back)."""

    FIRST = "first"
    LAST = "last"
    BOTH = "both"

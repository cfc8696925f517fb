"""Upper bounds on the numbers and instants a job document may hold.

Every accepted value must stay usable by the code that reads it later: a delay turned
into a ``timedelta`` and added to a fire time, a period multiplied by a count of
periods, a time zone conversion near year 9999. Bounding them where the document is
validated means nothing accepted can overflow at run time (a retry that raises in the
worker never ends). The bounds are generous: no business schedule needs more.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Final

from pydantic import AfterValidator, Field

#: Longest delay, timeout, grace or period: one leap year of seconds.
MAX_SECONDS: Final = 366 * 24 * 3600
MAX_DURATION: Final = timedelta(seconds=MAX_SECONDS)
#: Shortest fixed-rate period: finer would make one scheduler tick plan millions of fires.
MIN_PERIOD: Final = timedelta(milliseconds=100)
#: Instants in job documents (start_at, end_at, once.at) fall in this range, far enough
#: from ``datetime.min``/``max`` that adding any bounded duration cannot overflow.
EARLIEST: Final = datetime(1970, 1, 1, tzinfo=UTC)
LATEST: Final = datetime(9000, 1, 1, tzinfo=UTC)


def _in_range(value: datetime) -> datetime:
    # Naive instants are compared as UTC here; the job's zone moves them by hours only.
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if not EARLIEST <= aware <= LATEST:
        raise ValueError(f"must be between {EARLIEST:%Y} and {LATEST:%Y}, got {value.isoformat()}")
    return value


#: Seconds, finite, from 0 to :data:`MAX_SECONDS`.
Seconds = Annotated[float, Field(ge=0, le=MAX_SECONDS, allow_inf_nan=False)]
#: Seconds, finite, above 0 and up to :data:`MAX_SECONDS`.
PositiveSeconds = Annotated[float, Field(gt=0, le=MAX_SECONDS, allow_inf_nan=False)]
#: An instant between :data:`EARLIEST` and :data:`LATEST`.
Instant = Annotated[datetime, AfterValidator(_in_range)]


def check_duration(value: timedelta, *, minimum: timedelta = timedelta(0)) -> timedelta:
    """``value`` if ``minimum <= value <= MAX_DURATION``.

    :raises ValueError: out of range, with both bounds in the message.
    """
    if not minimum <= value <= MAX_DURATION:
        low = f"{minimum.total_seconds():g} s"
        raise ValueError(
            f"must be from {low} to {MAX_SECONDS:,} s (366 days), got {value.total_seconds():g} s"
        )
    return value

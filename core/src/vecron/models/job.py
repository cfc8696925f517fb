"""A stored job: its current definition plus scheduling state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from vecron.models.definition import JobDefinition


@dataclass(frozen=True, slots=True, kw_only=True)
class JobRecord:
    id: str
    name: str
    enabled: bool
    version: int
    definition: JobDefinition
    created_at: datetime
    updated_at: datetime
    #: When the scheduler next has to look at this job; None = not scheduled.
    next_fire_at: datetime | None = None
    #: End of the latest finished execution (fixed-delay triggers count from it).
    last_finished_at: datetime | None = None

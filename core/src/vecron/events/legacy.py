"""Execution events passed to ``vecron_execution_event`` observers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionEvent:
    """``kind`` is one of ``created``, ``started``, ``step_finished``, ``finished``."""

    kind: str
    execution_id: str
    job_id: str
    at: datetime
    status: str | None = None
    step_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

"""The event kinds and one class per kind; JSON round-trips through :func:`parse_event`."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class EventKind(StrEnum):
    EXECUTION_CREATED = "execution.created"
    EXECUTION_SKIPPED = "execution.skipped"
    EXECUTION_MISSED = "execution.missed"
    EXECUTION_STARTED = "execution.started"
    STEP_FINISHED = "step.finished"
    RETRY_SCHEDULED = "execution.retry_scheduled"
    EXECUTION_FINISHED = "execution.finished"
    DEAD_LETTERED = "execution.dead_lettered"
    JOB_CHANGED = "job.changed"
    VARIABLE_CHANGED = "variable.changed"


class ChangeKind(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    ENABLED = "enabled"
    DISABLED = "disabled"


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at: datetime


class _ExecutionEvent(_Event):
    execution_id: str
    job_id: str


class ExecutionCreated(_ExecutionEvent):
    kind: Literal[EventKind.EXECUTION_CREATED] = EventKind.EXECUTION_CREATED
    trigger: str
    """``schedule``, ``manual``, ``webhook``, ``rerun``."""
    fire_time: datetime | None = None


class ExecutionSkipped(_Event):
    """A fire time that made no execution: overlap ``skip``, a calendar, a paused job."""

    kind: Literal[EventKind.EXECUTION_SKIPPED] = EventKind.EXECUTION_SKIPPED
    job_id: str
    fire_time: datetime
    reason: str


class ExecutionMissed(_Event):
    """A fire time the misfire policy dropped (the scheduler was down or late)."""

    kind: Literal[EventKind.EXECUTION_MISSED] = EventKind.EXECUTION_MISSED
    job_id: str
    fire_time: datetime


class ExecutionStarted(_ExecutionEvent):
    kind: Literal[EventKind.EXECUTION_STARTED] = EventKind.EXECUTION_STARTED
    attempt: int


class StepFinished(_ExecutionEvent):
    kind: Literal[EventKind.STEP_FINISHED] = EventKind.STEP_FINISHED
    step_id: str
    status: str
    """A :class:`~vecron.models.execution.StepStatus` value."""
    error: str | None = None


class RetryScheduled(_ExecutionEvent):
    kind: Literal[EventKind.RETRY_SCHEDULED] = EventKind.RETRY_SCHEDULED
    attempt: int
    """The attempt that failed."""
    delay: float
    """Seconds until the next attempt may start."""
    error: str | None = None


class ExecutionFinished(_ExecutionEvent):
    kind: Literal[EventKind.EXECUTION_FINISHED] = EventKind.EXECUTION_FINISHED
    status: str
    """An :class:`~vecron.models.execution.ExecutionStatus` value."""
    error: str | None = None


class DeadLettered(_ExecutionEvent):
    kind: Literal[EventKind.DEAD_LETTERED] = EventKind.DEAD_LETTERED
    attempts: int
    error: str | None = None


class JobChanged(_Event):
    kind: Literal[EventKind.JOB_CHANGED] = EventKind.JOB_CHANGED
    job_id: str
    job_name: str
    change: ChangeKind
    actor: str


class VariableChanged(_Event):
    """A variable was set or deleted; never carries the value."""

    kind: Literal[EventKind.VARIABLE_CHANGED] = EventKind.VARIABLE_CHANGED
    name: str
    change: ChangeKind
    actor: str


Event = Annotated[
    ExecutionCreated
    | ExecutionSkipped
    | ExecutionMissed
    | ExecutionStarted
    | StepFinished
    | RetryScheduled
    | ExecutionFinished
    | DeadLettered
    | JobChanged
    | VariableChanged,
    Field(discriminator="kind"),
]

_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(data: bytes | str | dict[str, Any]) -> Event:
    """An event from its JSON (bytes or text) or its dict form."""
    if isinstance(data, dict):
        return _ADAPTER.validate_python(data)
    return _ADAPTER.validate_json(data)


class EventSink(Protocol):
    """Where emitters hand events: never blocks, never raises (best effort)."""

    def emit(self, event: Event) -> None: ...


class NullSink:
    """Drops every event; for code paths with no observers (tools, some tests)."""

    def emit(self, event: Event) -> None:
        return None

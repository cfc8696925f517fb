"""The event kinds and one class per kind; JSON round-trips through :func:`parse_event`.

Events carry ids, states and already-masked error texts, never a variable's value or a
step's output: they leave the process (NATS) and reach every observer.
"""

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
    # Attribute docstrings become field descriptions (JSON Schema, docs).
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    at: datetime
    """When it happened (the emitter's clock; the scheduler's is the database's)."""


class _ExecutionEvent(_Event):
    execution_id: str
    job_id: str


class ExecutionCreated(_ExecutionEvent):
    """An execution was inserted (queued): by a fire time, a manual run, a webhook or a
    rerun."""

    kind: Literal[EventKind.EXECUTION_CREATED] = EventKind.EXECUTION_CREATED
    trigger: str
    """``schedule``, ``manual``, ``webhook``, ``rerun``."""
    fire_time: datetime | None = None
    """The fire time it was created for; None when not scheduled."""


class ExecutionSkipped(_Event):
    """A fire time that did not run: overlap ``skip`` (another execution of the job was in
    progress)."""

    kind: Literal[EventKind.EXECUTION_SKIPPED] = EventKind.EXECUTION_SKIPPED
    job_id: str
    fire_time: datetime | None
    """The fire time that was skipped; None for a manual run."""
    reason: str
    execution_id: str | None = None
    """The execution the skip ended, when one had been created for the fire time."""


class ExecutionMissed(_Event):
    """A fire time the misfire policy dropped (the scheduler was down or late)."""

    kind: Literal[EventKind.EXECUTION_MISSED] = EventKind.EXECUTION_MISSED
    job_id: str
    fire_time: datetime
    reason: str
    """Which policy dropped it, as the ledger records it."""


class ExecutionStarted(_ExecutionEvent):
    """A worker claimed the execution and starts an attempt."""

    kind: Literal[EventKind.EXECUTION_STARTED] = EventKind.EXECUTION_STARTED
    attempt: int
    """1 for the first attempt."""


class StepFinished(_ExecutionEvent):
    """A step's result was recorded."""

    kind: Literal[EventKind.STEP_FINISHED] = EventKind.STEP_FINISHED
    step_id: str
    status: str
    """A :class:`~vecron.models.execution.StepStatus` value."""
    error: str | None = None
    """The recorded error, secrets already masked."""


class RetryScheduled(_ExecutionEvent):
    """An attempt failed and the execution is queued again for a later attempt."""

    kind: Literal[EventKind.RETRY_SCHEDULED] = EventKind.RETRY_SCHEDULED
    attempt: int
    """The attempt that failed."""
    delay: float
    """Seconds until the next attempt may start."""
    error: str | None = None
    """Why the attempt failed, secrets already masked."""


class ExecutionFinished(_ExecutionEvent):
    """The execution reached a final state."""

    kind: Literal[EventKind.EXECUTION_FINISHED] = EventKind.EXECUTION_FINISHED
    status: str
    """An :class:`~vecron.models.execution.ExecutionStatus` value."""
    error: str | None = None
    """Why it failed, secrets already masked."""


class DeadLettered(_ExecutionEvent):
    """The last attempt failed: the execution went to the dead-letter table."""

    kind: Literal[EventKind.DEAD_LETTERED] = EventKind.DEAD_LETTERED
    attempts: int
    """How many attempts were made."""
    error: str | None = None
    """The last attempt's error, secrets already masked."""


class JobChanged(_Event):
    """A job was created, changed, deleted, enabled or disabled."""

    kind: Literal[EventKind.JOB_CHANGED] = EventKind.JOB_CHANGED
    job_id: str
    job_name: str
    change: ChangeKind
    actor: str
    """Who made the change (the principal's name)."""


class VariableChanged(_Event):
    """A variable was set or deleted; never carries the value."""

    kind: Literal[EventKind.VARIABLE_CHANGED] = EventKind.VARIABLE_CHANGED
    name: str
    job: str | None = None
    """The job whose own variable it is; None for a global variable."""
    change: ChangeKind
    actor: str
    """Who made the change (the principal's name)."""


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

#: Every event class, in the order of :class:`EventKind`.
EVENT_CLASSES: tuple[type[BaseModel], ...] = (
    ExecutionCreated,
    ExecutionSkipped,
    ExecutionMissed,
    ExecutionStarted,
    StepFinished,
    RetryScheduled,
    ExecutionFinished,
    DeadLettered,
    JobChanged,
    VariableChanged,
)

_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(data: bytes | str | dict[str, Any]) -> Event:
    """An event from its JSON (bytes or text) or its dict form.

    :raises pydantic.ValidationError: not an event this version knows.
    """
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

"""Executions, step results and the occurrence ledger."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class ExecutionStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"  # overlap policy: another execution of the job was running

    @property
    def finished(self) -> bool:
        return self not in ACTIVE_STATUSES


#: An execution in one of these is *active*: it keeps an ``overlap: skip`` job busy, so
#: a manual or webhook run of the job is refused while it has one
#: (:meth:`vecron.store.Store.create_execution` with ``exclusive``). Every other status
#: is final.
ACTIVE_STATUSES = frozenset({ExecutionStatus.QUEUED, ExecutionStatus.RUNNING})


class StepStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    SKIPPED = "skipped"


class OccurrenceStatus(StrEnum):
    """What became of one planned fire time (S13.4)."""

    FIRED = "fired"
    SKIPPED = "skipped"  # overlap policy: the job was still running
    MISSED = "missed"  # misfire policy: too late and not run
    COALESCED = "coalesced"  # misfire run_once: folded into a later fire


@dataclass(frozen=True, slots=True, kw_only=True)
class Execution:
    """One run of one job version. ``idempotency_key`` is unique in the store."""

    id: str
    job_id: str
    job_name: str
    job_version: int
    idempotency_key: str
    trigger: str  # trigger kind: cron, fixed_rate, manual, webhook ...
    triggered_by: str | None
    scheduled_at: datetime | None  # the fire time, for scheduled runs
    not_before: datetime
    status: ExecutionStatus
    attempt: int  # attempts started so far
    max_attempts: int
    created_at: datetime
    params: dict[str, Any] = field(default_factory=dict)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    error: str | None = None
    dead_lettered_at: datetime | None = None
    published: bool = False

    @property
    def may_have_progress(self) -> bool:
        """Could steps of it be recorded already? Not for a first claim of a new one
        (the common case, which then costs no query); yes after any retry, hand-back or
        re-run, which all leave an ``error`` or a higher attempt behind."""
        return self.attempt > 1 or self.error is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class NewExecution:
    """What a trigger asks the store to create."""

    id: str
    job_id: str
    job_name: str
    job_version: int
    idempotency_key: str
    trigger: str
    triggered_by: str | None
    scheduled_at: datetime | None
    not_before: datetime
    max_attempts: int
    created_at: datetime
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class StepResult:
    execution_id: str
    step_id: str
    attempt: int
    status: StepStatus
    started_at: datetime
    finished_at: datetime
    output: dict[str, Any] | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """How an attempt ended. Applied only if ``owner`` still holds the lease for ``attempt``.

    ``status`` QUEUED with ``not_before`` means "retry later"; a finished status ends it.
    """

    execution_id: str
    owner: str
    attempt: int
    status: ExecutionStatus
    at: datetime
    error: str | None = None
    not_before: datetime | None = None
    dead_letter: bool = False
    #: When this attempt's first step started (the claim may come a little earlier).
    started_at: datetime | None = None
    #: A QUEUED outcome that was no attempt at all (handed back at shutdown, held by an
    #: open circuit breaker): the attempt count goes back down.
    refund_attempt: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Occurrence:
    job_id: str
    fire_time: datetime
    status: OccurrenceStatus
    recorded_at: datetime
    reason: str | None = None
    execution_id: str | None = None


def start_order(execution: Execution) -> tuple[datetime, datetime, str]:
    """The order in which running executions of one job started, for ``overlap: skip``:
    the earliest claim first; executions claimed together by their fire time, then id.

    A worker starting an execution of an ``overlap: skip`` job skips it when another
    one in progress (running, or queued again between attempts) comes before it in this
    order; an execution queued and never started does not count there (it will be
    judged when it is claimed). Manual runs are refused earlier, while any execution is
    active (:data:`ACTIVE_STATUSES`).
    """
    return (
        execution.started_at or execution.created_at,
        execution.scheduled_at or execution.created_at,
        execution.id,
    )

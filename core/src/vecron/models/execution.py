"""Executions, step results and the occurrence ledger."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
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


#: An execution in one of these has not ended; every other status is final. (Which
#: active ones keep an ``overlap: skip`` job busy: :mod:`vecron.models.overlap`.)
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
    #: sha256 of what a manual run asked for (:func:`request_fingerprint`); None for
    #: a scheduled one.
    request_fingerprint: str | None = None
    #: Someone asked to cancel it while it ran; its worker cancels it at its next
    #: lease extension.
    cancel_requested_at: datetime | None = None
    #: What an event trigger handed over (a webhook's payload, query and headers): the
    #: Job Context's ``trigger`` holds it, templates read it under the kind's name.
    trigger_data: dict[str, Any] = field(default_factory=dict)

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
    request_fingerprint: str | None = None
    trigger_data: dict[str, Any] = field(default_factory=dict)


def request_fingerprint(request: Mapping[str, Any]) -> str:
    """sha256 (hex) of ``request`` as canonical JSON (keys sorted, no spaces): equal
    requests, whatever their key order, have one fingerprint."""
    text = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


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

    @classmethod
    def of(
        cls, execution: Execution, status: ExecutionStatus, at: datetime, **fields: Any
    ) -> Outcome:
        """An outcome of ``execution``'s current attempt (``fields``: the rest of it). The
        owner is the claimed execution's lease owner: an outcome for one this worker does
        not hold (no owner) never applies, as the store's fence wants."""
        return cls(
            execution_id=execution.id,
            owner=execution.lease_owner or "",
            attempt=execution.attempt,
            status=status,
            at=at,
            **fields,
        )

    @classmethod
    def finished(
        cls,
        execution: Execution,
        status: ExecutionStatus,
        at: datetime,
        *,
        error: str | None = None,
        started_at: datetime | None = None,
    ) -> Outcome:
        """The execution ends in ``status`` (a final one) and stays out of the dead
        letters: succeeded, skipped by the overlap policy, cancelled."""
        return cls.of(execution, status, at, error=error, started_at=started_at)

    @classmethod
    def succeeded(
        cls, execution: Execution, at: datetime, *, started_at: datetime | None
    ) -> Outcome:
        return cls.of(execution, ExecutionStatus.SUCCEEDED, at, started_at=started_at)

    @classmethod
    def dead_lettered(
        cls,
        execution: Execution,
        status: ExecutionStatus,
        at: datetime,
        error: str | None,
        *,
        started_at: datetime | None = None,
    ) -> Outcome:
        """The execution ends for good in ``status`` (failed, timed out) and goes to the
        dead letters (S5.3): nothing retries it but a rerun by hand."""
        return cls.of(execution, status, at, error=error, started_at=started_at, dead_letter=True)

    @classmethod
    def retry(
        cls,
        execution: Execution,
        at: datetime,
        delay: float,
        error: str | None,
        *,
        started_at: datetime | None = None,
        refund: bool = False,
    ) -> Outcome:
        """Back to the queue, due ``delay`` seconds after ``at``; ``refund``: the attempt
        was not spent (nothing ran: an open circuit, a shutdown)."""
        return cls.of(
            execution,
            ExecutionStatus.QUEUED,
            at,
            error=error,
            started_at=started_at,
            not_before=at + timedelta(seconds=delay),
            refund_attempt=refund,
        )

    @classmethod
    def handed_back(cls, execution: Execution, at: datetime) -> Outcome:
        """Given back at worker shutdown, due at once; its finished steps stay recorded."""
        return cls.retry(execution, at, 0.0, "handed back at worker shutdown", refund=True)

    @property
    def delay(self) -> float:
        """Seconds until a retry may start (0 for an outcome that ends the execution)."""
        if self.not_before is None:
            return 0.0
        return max(0.0, (self.not_before - self.at).total_seconds())


@dataclass(frozen=True, slots=True, kw_only=True)
class Occurrence:
    job_id: str
    fire_time: datetime
    status: OccurrenceStatus
    recorded_at: datetime
    reason: str | None = None
    execution_id: str | None = None

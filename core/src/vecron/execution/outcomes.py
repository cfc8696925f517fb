"""How an attempt ends: retry it, finish, or dead-letter — decided, not done, here.

:func:`decide` is pure (no I/O, no clock; the jitter's randomness comes in as ``rng``):
given the job's retry policy, the execution and why the attempt failed (or that it did
not), it names the :class:`~vecron.models.execution.Outcome` the worker records. The
rules (docs/jobs.md "Retries and failures", S5.3):

- a failure that is retryable — an unclassified exception, a
  :class:`~vecron.errors.RetryableError`, a storage error saving the Job Context, and a
  **timeout**, of a step or of the whole job — is retried after
  ``retry.backoff(attempt)`` seconds (never less than the target's ``Retry-After``)
  while attempts remain and the retry would start within ``retry.budget`` seconds of
  the fire time;
- a :class:`~vecron.errors.FinalError` (templates included) is never retried;
- a step not run because its target's circuit is open waits without spending an attempt;
- the end of the road is ``failed`` (``timed_out`` when the last failure was a timeout),
  dead-lettered.

:func:`announce` names the events an outcome makes, once the store recorded it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from vecron.events.kinds import (
    DeadLettered,
    Event,
    ExecutionFinished,
    ExecutionSkipped,
    RetryScheduled,
    StepFinished,
)
from vecron.models.bounds import MAX_SECONDS
from vecron.models.definition import JobDefinition
from vecron.models.execution import (
    Execution,
    ExecutionStatus,
    Outcome,
    StepResult,
    StepStatus,
)

#: Seconds a step held by an open circuit waits when the breaker names no time.
HELD_DELAY = 1.0


@dataclass(frozen=True, slots=True)
class Failure:
    """Why an attempt did not succeed: the failed step's result (step ``-`` when the
    job as a whole failed) and whether another attempt may help."""

    step: StepResult
    retryable: bool
    #: Seconds the target asked to wait (an HTTP ``Retry-After``), if it said.
    retry_after: float | None = None
    #: Not run at all: its target's circuit is open. Waiting costs no attempt.
    held: bool = False
    #: The job's own ``timeout`` ran out (not one step's).
    job_timeout: bool = False

    @property
    def error(self) -> str | None:
        return self.step.error

    @property
    def timed_out(self) -> bool:
        return self.job_timeout or self.step.status is StepStatus.TIMED_OUT


def bounded_delay(seconds: float) -> float:
    """A retry delay that a datetime can hold: an executor's ``retry_after`` (a target's
    Retry-After header) may be anything, and an overflow here would strand the run."""
    if not math.isfinite(seconds):
        return float(MAX_SECONDS) if seconds > 0 else 0.0
    return min(max(seconds, 0.0), float(MAX_SECONDS))


def retry_delay(
    definition: JobDefinition,
    attempt: int,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds before the attempt after failed attempt ``attempt``: the policy's backoff
    (jitter included), at least ``retry_after``."""
    delay = definition.retry.backoff(attempt, rng)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return bounded_delay(delay)


def decide(
    definition: JobDefinition,
    execution: Execution,
    failure: Failure | None,
    now: datetime,
    *,
    started: datetime | None = None,
    rng: random.Random | None = None,
) -> Outcome:
    """The outcome of ``execution``'s current attempt, which ``failure`` ended (None: it
    succeeded) at ``now``; ``started``: when its first step started."""
    if failure is None:
        return Outcome.succeeded(execution, now, started_at=started)
    if failure.held:
        delay = bounded_delay(HELD_DELAY if failure.retry_after is None else failure.retry_after)
        return Outcome.retry(execution, now, delay, failure.error, started_at=started, refund=True)
    delay = retry_delay(definition, execution.attempt, failure.retry_after, rng)
    budget = definition.retry.budget
    origin = execution.scheduled_at or execution.created_at
    within_budget = budget is None or (
        now + timedelta(seconds=delay) - origin <= timedelta(seconds=budget)
    )
    if failure.retryable and execution.attempt < execution.max_attempts and within_budget:
        return Outcome.retry(execution, now, delay, failure.error, started_at=started)
    status = ExecutionStatus.TIMED_OUT if failure.timed_out else ExecutionStatus.FAILED
    error = failure.error
    if failure.retryable and not within_budget:
        error = f"{error} (retry budget of {budget} s spent)"
    return Outcome.dead_lettered(execution, status, now, error, started_at=started)


def exhausted(execution: Execution, now: datetime) -> Outcome | None:
    """The outcome of an execution claimed once more than it may be, or None.

    Every attempt was claimed and none recorded an end (a worker died, or handling
    failed): claiming it again would never stop.
    """
    if execution.attempt <= execution.max_attempts:
        return None
    error = (
        f"gave up after {execution.max_attempts} attempt(s): the last one ended "
        "without a result (its worker stopped or failed)"
    )
    return Outcome.dead_lettered(execution, ExecutionStatus.FAILED, now, error, started_at=now)


def step_finished(execution: Execution, result: StepResult) -> StepFinished:
    return StepFinished(
        at=result.finished_at,
        execution_id=execution.id,
        job_id=execution.job_id,
        step_id=result.step_id,
        status=result.status.value,
        error=result.error,
    )


def announce(
    execution: Execution, outcome: Outcome, recorded: Sequence[StepResult] = ()
) -> list[Event]:
    """The events of ``outcome`` and of the step results recorded with it."""
    events: list[Event] = [step_finished(execution, result) for result in recorded]
    ids = {"at": outcome.at, "execution_id": execution.id, "job_id": execution.job_id}
    if outcome.status is ExecutionStatus.QUEUED:
        if not outcome.refund_attempt:  # a held step or a hand-back was no attempt
            events.append(
                RetryScheduled(
                    **ids, attempt=outcome.attempt, delay=outcome.delay, error=outcome.error
                )
            )
        return events
    if outcome.status is ExecutionStatus.SKIPPED:
        events.append(
            ExecutionSkipped(
                at=outcome.at,
                job_id=execution.job_id,
                fire_time=execution.scheduled_at,
                reason=outcome.error or "overlap",
                execution_id=execution.id,
            )
        )
    events.append(ExecutionFinished(**ids, status=outcome.status.value, error=outcome.error))
    if outcome.dead_letter:
        events.append(DeadLettered(**ids, attempts=outcome.attempt, error=outcome.error))
    return events

"""How an attempt ends (:func:`vecron.execution.outcomes.decide`): pure, so every rule
is checked over many policies and attempts without running anything.

The rules are those docs/jobs.md ("Retries and failures") states: a retryable failure
waits ``delay * factor^(attempt-1)`` seconds, capped by ``max_delay``, spread by
±``jitter``, never less than ``Retry-After``; a final error is not retried; a step
timeout is a retryable failure, and after the last attempt the execution is
``timed_out`` and dead-lettered.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from vecron.events import (
    DeadLettered,
    ExecutionFinished,
    ExecutionSkipped,
    RetryScheduled,
    StepFinished,
)
from vecron.execution.outcomes import (
    Failure,
    announce,
    bounded_delay,
    decide,
    exhausted,
    retry_delay,
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

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OWNER = "worker-1"


def definition(**retry: Any) -> JobDefinition:
    return JobDefinition.model_validate(
        {
            "name": "job",
            "timezone": "UTC",
            "triggers": [],
            "steps": [{"id": "a", "type": "record"}],
            "retry": retry,
        }
    )


def claimed(attempt: int = 1, max_attempts: int = 10, **fields: Any) -> Execution:
    base: dict[str, Any] = {
        "id": "e1",
        "job_id": "j1",
        "job_name": "job",
        "job_version": 1,
        "idempotency_key": "j1@t0",
        "trigger": "cron",
        "triggered_by": "scheduler",
        "scheduled_at": T0,
        "not_before": T0,
        "status": ExecutionStatus.RUNNING,
        "attempt": attempt,
        "max_attempts": max_attempts,
        "created_at": T0,
        "lease_owner": OWNER,
    }
    return Execution(**{**base, **fields})


def failed_step(status: StepStatus = StepStatus.FAILED, error: str = "boom") -> StepResult:
    return StepResult(
        execution_id="e1",
        step_id="a",
        attempt=1,
        status=status,
        started_at=T0,
        finished_at=T0,
        error=error,
    )


def retryable(retry_after: float | None = None) -> Failure:
    return Failure(failed_step(), retryable=True, retry_after=retry_after)


FINAL = Failure(failed_step(error="HTTP 400"), retryable=False)
#: What the step runner reports when a step runs past its ``timeout``.
STEP_TIMEOUT = Failure(failed_step(StepStatus.TIMED_OUT, "step timed out after 1.0 s"), True)

delays = st.floats(min_value=0, max_value=3600, allow_nan=False)
factors = st.floats(min_value=1, max_value=1000, allow_nan=False)
caps = st.floats(min_value=0, max_value=MAX_SECONDS, allow_nan=False)
jitters = st.floats(min_value=0, max_value=1, allow_nan=False)
attempts = st.integers(min_value=1, max_value=1000)
seeds = st.integers(min_value=0, max_value=2**32)


def documented_base(delay: float, factor: float, cap: float, attempt: int) -> float:
    """``min(max_delay, delay * factor^(attempt-1))`` without overflowing a float."""
    if delay == 0 or cap == 0:
        return 0.0
    if math.log(delay) + (attempt - 1) * math.log(factor) >= math.log(cap):
        return cap
    return float(delay * factor ** (attempt - 1))


@given(delays, factors, caps, attempts, attempts)
def test_backoff_is_monotone_up_to_the_cap(
    delay: float, factor: float, cap: float, a: int, b: int
) -> None:
    job = definition(delay=delay, factor=factor, max_delay=cap, jitter=0)
    first, later = sorted((a, b))
    earlier_wait = retry_delay(job, first)
    later_wait = retry_delay(job, later)
    assert earlier_wait <= later_wait <= cap
    assert math.isclose(later_wait, documented_base(delay, factor, cap, later), rel_tol=1e-9)


@given(delays, factors, caps, jitters, attempts, seeds)
def test_jitter_stays_within_its_bounds(
    delay: float, factor: float, cap: float, jitter: float, attempt: int, seed: int
) -> None:
    job = definition(delay=delay, factor=factor, max_delay=cap, jitter=jitter)
    base = documented_base(delay, factor, cap, attempt)
    wait = retry_delay(job, attempt, rng=random.Random(seed))
    slack = 1e-9 * max(1.0, base)
    assert max(0.0, base * (1 - jitter)) - slack <= wait <= base * (1 + jitter) + slack
    assert 0 <= wait <= MAX_SECONDS


@given(
    attempts,
    st.one_of(st.floats(min_value=0, max_value=10 * MAX_SECONDS), st.just(math.inf), st.just(-1.0)),
)
def test_a_retry_after_is_honoured_and_bounded(attempt: int, retry_after: float) -> None:
    job = definition(delay=1, factor=2, max_delay=60, jitter=0)
    wait = retry_delay(job, attempt, retry_after)
    assert min(max(retry_after, 0), MAX_SECONDS) <= wait <= MAX_SECONDS
    assert wait == bounded_delay(max(documented_base(1, 2, 60, attempt), retry_after))


@given(
    st.integers(min_value=1, max_value=1000),
    st.one_of(st.none(), st.floats(min_value=0.001, max_value=MAX_SECONDS)),
    delays,
    seeds,
)
def test_the_attempt_budget_is_never_exceeded(
    max_attempts: int, budget: float | None, delay: float, seed: int
) -> None:
    """Every attempt fails; the execution is claimed again for each retry decided."""
    job = definition(max_attempts=max_attempts, delay=delay, factor=1.5, budget=budget)
    rng = random.Random(seed)
    execution = claimed(1, max_attempts)
    now = T0
    while True:
        outcome = decide(job, execution, retryable(), now, rng=rng)
        assert outcome.attempt == execution.attempt <= max_attempts
        if outcome.status is not ExecutionStatus.QUEUED:
            break
        assert outcome.not_before is not None and not outcome.refund_attempt
        if budget is not None:  # no retry starts after the budget, from the fire time
            assert outcome.not_before - T0 <= timedelta(seconds=budget)
        now = outcome.not_before
        execution = claimed(execution.attempt + 1, max_attempts)
    assert outcome.dead_letter and outcome.status is ExecutionStatus.FAILED
    if budget is None:
        assert execution.attempt == max_attempts
    elif execution.attempt < max_attempts:
        assert outcome.error == f"boom (retry budget of {budget} s spent)"


@given(attempts, st.integers(min_value=1, max_value=1000), delays)
def test_a_final_error_is_never_retried(attempt: int, max_attempts: int, delay: float) -> None:
    job = definition(max_attempts=max_attempts, delay=delay)
    execution = claimed(min(attempt, max_attempts), max_attempts)
    outcome = decide(job, execution, FINAL, T0)
    assert outcome.status is ExecutionStatus.FAILED
    assert outcome.dead_letter and outcome.not_before is None
    assert outcome.error == "HTTP 400"


@given(st.integers(min_value=2, max_value=1000))
def test_a_step_timeout_is_retried_while_attempts_remain(max_attempts: int) -> None:
    job = definition(max_attempts=max_attempts, delay=1, jitter=0)
    for attempt in range(1, max_attempts):
        retry = decide(job, claimed(attempt, max_attempts), STEP_TIMEOUT, T0)
        assert retry.status is ExecutionStatus.QUEUED and not retry.dead_letter
    last = decide(job, claimed(max_attempts, max_attempts), STEP_TIMEOUT, T0)
    assert last.status is ExecutionStatus.TIMED_OUT and last.dead_letter
    assert last.error == "step timed out after 1.0 s"


def test_a_job_timeout_ends_timed_out_too() -> None:
    job_timeout = Failure(failed_step(error="job timed out after 2 s"), True, job_timeout=True)
    last = decide(definition(max_attempts=1), claimed(1, 1), job_timeout, T0)
    assert (last.status, last.dead_letter) == (ExecutionStatus.TIMED_OUT, True)


@given(attempts, st.one_of(st.none(), st.floats(min_value=0, max_value=3600)))
def test_a_step_held_by_an_open_circuit_spends_no_attempt(
    attempt: int, retry_after: float | None
) -> None:
    held = Failure(failed_step(), True, retry_after, held=True)
    # Even on the last attempt: it did not run, so it was no attempt.
    outcome = decide(definition(max_attempts=1), claimed(attempt, 1), held, T0)
    assert outcome.status is ExecutionStatus.QUEUED and outcome.refund_attempt
    # Datetimes keep microseconds.
    assert math.isclose(outcome.delay, 1.0 if retry_after is None else retry_after, abs_tol=1e-6)


def test_success_records_the_start_and_the_lease_owner() -> None:
    started = T0 + timedelta(seconds=1)
    outcome = decide(definition(), claimed(), None, T0 + timedelta(seconds=2), started=started)
    assert outcome == Outcome(
        execution_id="e1",
        owner=OWNER,
        attempt=1,
        status=ExecutionStatus.SUCCEEDED,
        at=T0 + timedelta(seconds=2),
        started_at=started,
    )


def test_an_execution_claimed_past_its_attempts_is_given_up() -> None:
    assert exhausted(claimed(3, 3), T0) is None
    outcome = exhausted(claimed(4, 3), T0)
    assert outcome is not None and outcome.dead_letter
    assert outcome.status is ExecutionStatus.FAILED
    assert "gave up after 3 attempt(s)" in (outcome.error or "")


def test_announced_events_follow_the_outcome() -> None:
    execution = claimed(2, 3)
    step = failed_step()
    retry = decide(definition(delay=5, jitter=0), execution, retryable(), T0)
    assert [type(e) for e in announce(execution, retry, [step])] == [StepFinished, RetryScheduled]
    [_, scheduled] = announce(execution, retry, [step])
    assert isinstance(scheduled, RetryScheduled)
    assert (scheduled.attempt, scheduled.delay, scheduled.error) == (2, 15.0, "boom")

    dead = decide(definition(), claimed(3, 3), retryable(), T0)
    kinds = [type(e) for e in announce(execution, dead, [step])]
    assert kinds == [StepFinished, ExecutionFinished, DeadLettered]

    skipped = Outcome.finished(execution, ExecutionStatus.SKIPPED, T0, error="another one ran")
    [skip, finished] = announce(execution, skipped)
    assert isinstance(skip, ExecutionSkipped) and skip.fire_time == T0
    assert isinstance(finished, ExecutionFinished) and finished.status == "skipped"

    held = decide(definition(), execution, Failure(step, True, held=True), T0)
    assert announce(execution, held) == []  # no attempt was made: nothing to tell

"""Numbers in job documents are bounded where they are validated, so nothing accepted can
overflow later: a retry that raised in the worker never ended (issue #9, finding 2)."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from tests.support.engine import apply, running
from vecron import MAX_SECONDS, MIN_PERIOD
from vecron.auth import LOCAL_OPERATOR
from vecron.errors import ValidationError
from vecron.jobs.firetimes import JobSchedule
from vecron.models.bounds import EARLIEST, LATEST
from vecron.models.definition import RetryPolicy
from vecron.models.execution import ExecutionStatus
from vecron.runtime import Runtime
from vecron.scheduling.scheduler import Scheduler
from vecron.store.schema import executions


def document(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": "bounded",
        "timezone": "UTC",
        "triggers": [{"type": "manual"}],
        "steps": [{"id": "a", "type": "record"}],
    }
    for path, value in over.items():
        target = doc
        *parents, leaf = path.split("__")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target.setdefault(part, {})
        target[leaf] = value
    return doc


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"retry__delay": 1.0e12, "retry__max_delay": 1.0e12}, "retry.delay"),
        ({"retry__max_delay": float("inf")}, "retry.max_delay"),
        ({"retry__delay": float("nan")}, "retry.delay"),
        ({"retry__factor": 1.0e6}, "retry.factor"),
        ({"retry__budget": 1.0e12}, "retry.budget"),
        ({"retry__max_attempts": 10**9}, "retry.max_attempts"),
        ({"policy__misfire_grace": 1.0e12}, "policy.misfire_grace"),
        ({"policy__jitter": 1.0e12}, "policy.jitter"),
        ({"policy__run_all_cap": 10**9}, "policy.run_all_cap"),
        ({"timeout": 1.0e12}, "timeout"),
        ({"steps__0__timeout": float("inf")}, "steps[0].timeout"),
        ({"start_at": "9999-12-31T23:59:59"}, "start_at"),
        ({"end_at": "0001-01-01T00:00:00"}, "end_at"),
        ({"triggers__0__type": "fixed_rate", "triggers__0__period": 1.0e-6}, "triggers[0].period"),
        ({"triggers__0__type": "fixed_rate", "triggers__0__period": 1.0e12}, "triggers[0].period"),
        ({"triggers__0__type": "fixed_delay", "triggers__0__delay": 1.0e12}, "triggers[0].delay"),
        (
            {
                "triggers__0__type": "fixed_delay",
                "triggers__0__delay": 5,
                "triggers__0__initial_delay": 1.0e12,
            },
            "triggers[0].initial_delay",
        ),
        ({"triggers__0__type": "once", "triggers__0__at": "9999-12-31T23:59:59"}, "triggers[0].at"),
    ],
)
def test_values_that_could_overflow_later_are_refused_naming_the_field(
    runtime: Runtime, over: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        runtime.jobs.parse(document(**over))
    assert field in [problem.field for problem in refused.value.problems]


@given(
    attempt=st.integers(1, 1000),
    delay=st.floats(0, MAX_SECONDS),
    factor=st.floats(1, 1000),
    max_delay=st.floats(0, MAX_SECONDS),
    jitter=st.floats(0, 1),
)
def test_backoff_stays_within_the_bound_for_every_attempt(
    attempt: int, delay: float, factor: float, max_delay: float, jitter: float
) -> None:
    policy = RetryPolicy(delay=delay, factor=factor, max_delay=max_delay, jitter=jitter)
    wait = policy.backoff(attempt)
    assert 0 <= wait <= min(MAX_SECONDS, max_delay * (1 + jitter))
    assert LATEST + timedelta(seconds=wait) >= LATEST  # a datetime can hold it


async def wait_for(runtime: Runtime, execution_id: str, done: Any, timeout: float = 120) -> Any:
    async with asyncio.timeout(timeout):
        while True:
            execution = await runtime.store.get_execution(execution_id)
            if done(execution):
                return execution
            await asyncio.sleep(0.02)


async def test_a_huge_retry_after_from_a_target_waits_at_most_the_bound(
    runtime: Runtime, calls: Any
) -> None:
    """A target's Retry-After is not validated by anyone: the worker bounds it."""
    await apply(
        runtime,
        document(
            steps=[{"id": "a", "type": "record", "fail_times": 5, "retry_after": 1.0e15}],
            retry={"max_attempts": 3, "delay": 1},
        ),
    )
    async with running(runtime):
        execution = (
            await runtime.triggers.fire(LOCAL_OPERATOR, "bounded", kind="manual")
        ).execution
        queued = await wait_for(
            runtime,
            execution.id,
            lambda e: e.status is ExecutionStatus.QUEUED and e.attempt == 1,
        )
    assert calls.counts["x"] == 1
    wait = (queued.not_before - datetime.now(UTC)).total_seconds()
    assert MAX_SECONDS - 60 < wait <= MAX_SECONDS


async def force_attempt(runtime: Runtime, execution_id: str, attempt: int) -> None:
    """Skip ahead to the last attempts, due now (stands in for a long run of retries)."""
    engine = runtime.store._engine  # type: ignore[attr-defined]
    async with engine.begin() as conn:
        await conn.execute(
            update(executions)
            .where(executions.c.id == execution_id)
            .values(
                status=ExecutionStatus.QUEUED.value,
                attempt=attempt,
                not_before=datetime.now(UTC),
                published=False,
            )
        )
    runtime.wakeup.notify()


async def test_an_execution_claimed_after_its_last_attempt_is_dead_lettered(
    runtime: Runtime, calls: Any
) -> None:
    """Each attempt ended without a result (its worker died): the next claim must not run
    it a fourth time of three, but dead-letter it."""
    await apply(runtime, document(retry={"max_attempts": 3}))
    execution = (await runtime.triggers.fire(LOCAL_OPERATOR, "bounded", kind="manual")).execution
    await force_attempt(runtime, execution.id, 3)
    async with running(runtime):
        failed = await wait_for(runtime, execution.id, lambda e: e.status.finished)
    assert failed.status is ExecutionStatus.FAILED
    assert failed.dead_lettered_at is not None
    assert "gave up after 3 attempt(s)" in (failed.error or "")
    assert calls.counts["x"] == 0  # nothing ran on the fourth claim


# -- acceptance 2: every accepted definition can be planned, run, retried, dead-lettered --
seconds = st.floats(0, MAX_SECONDS)
positive = st.floats(0.001, MAX_SECONDS)
instants = st.datetimes(
    min_value=EARLIEST.replace(tzinfo=None),
    max_value=LATEST.replace(tzinfo=None),
    timezones=st.just(UTC),
)
triggers = st.one_of(
    st.builds(
        lambda p: {"type": "fixed_rate", "period": p},
        st.floats(MIN_PERIOD.total_seconds(), MAX_SECONDS),
    ),
    st.builds(
        lambda d, i: {"type": "fixed_delay", "delay": d, "initial_delay": i},
        st.floats(MIN_PERIOD.total_seconds(), MAX_SECONDS),
        seconds,
    ),
    st.builds(lambda at: {"type": "once", "at": at.isoformat()}, instants),
    st.just({"type": "cron", "expression": "*/7 * * * * ?"}),
)
definitions = st.fixed_dictionaries(
    {
        "triggers": st.lists(triggers, min_size=1, max_size=2),
        "retry": st.fixed_dictionaries(
            {
                "max_attempts": st.integers(1, 1000),
                "delay": seconds,
                "factor": st.floats(1, 1000),
                "max_delay": seconds,
                "jitter": st.floats(0, 1),
                "budget": st.none() | positive,
            }
        ),
        "policy": st.fixed_dictionaries(
            {
                "misfire": st.sampled_from(["skip", "run_once", "run_all"]),
                "misfire_grace": seconds,
                "run_all_cap": st.integers(1, 10_000),
                "jitter": seconds,
            }
        ),
        "timeout": st.none() | st.floats(5, MAX_SECONDS),
        "step_timeout": st.none() | st.floats(5, MAX_SECONDS),
        "start_at": st.none() | instants,
    }
)
names = itertools.count()


@settings(
    max_examples=25,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=definitions, plan_at=instants)
async def test_every_accepted_definition_plans_runs_retries_and_dead_letters(
    runtime: Runtime, calls: Any, drawn: dict[str, Any], plan_at: datetime
) -> None:
    step = {"id": "a", "type": "record", "fail_times": 10_000}
    if drawn["step_timeout"] is not None:
        step["timeout"] = drawn["step_timeout"]
    doc = {
        "name": f"any-{next(names)}",
        "timezone": "UTC",
        # Disabled: the scheduler in the background must not add fires of its own; the
        # test plans them itself, and runs its manual-only twin below.
        "enabled": False,
        "triggers": [*drawn["triggers"], {"type": "manual"}],
        "steps": [step],
        "retry": drawn["retry"],
        "policy": drawn["policy"],
    }
    if drawn["timeout"] is not None:
        doc["timeout"] = drawn["timeout"]
    if drawn["start_at"] is not None:
        doc["start_at"] = drawn["start_at"].isoformat()
    job = await apply(runtime, doc)  # accepted: the strategies stay inside the bounds

    # Planned: at any instant, however far from the job's anchor.
    schedule = JobSchedule(job.definition, runtime.registry)
    scheduler = Scheduler(runtime.store, runtime.queue, runtime.registry, wakeup=runtime.wakeup)
    for now in (plan_at, datetime.now(UTC), LATEST):
        first = schedule.next_after(now - timedelta(days=400), job)
        if first is not None:
            scheduler.plan(replace(job, next_fire_at=first), now, now + timedelta(seconds=1))

    # Every retry delay the worker may compute fits a datetime.
    policy = RetryPolicy.model_validate(drawn["retry"])
    for attempt in range(1, policy.max_attempts + 1):
        assert LATEST + timedelta(seconds=policy.backoff(attempt)) >= LATEST

    # Run, retried (or dead-lettered at once), then the last attempt dead-letters: the
    # same job but enabled and manual-only (a disabled job is started by no trigger).
    twin = {**doc, "name": f"{job.name}-run", "enabled": True, "triggers": [{"type": "manual"}]}
    runnable = await apply(runtime, twin)
    execution = (
        await runtime.triggers.fire(LOCAL_OPERATOR, runnable.name, kind="manual")
    ).execution
    async with running(runtime):
        first = await wait_for(
            runtime,
            execution.id,
            # A short delay may start attempt 2 before the test sees attempt 1 queued.
            lambda e: (
                e.status.finished
                or e.attempt >= 2
                or (e.attempt == 1 and e.status is ExecutionStatus.QUEUED)
            ),
        )
        if not first.status.finished:
            assert policy.max_attempts > 1
            await force_attempt(runtime, execution.id, policy.max_attempts - 1)
            first = await wait_for(runtime, execution.id, lambda e: e.status.finished)
    assert first.status is ExecutionStatus.FAILED
    assert first.dead_lettered_at is not None
    assert first.attempt <= policy.max_attempts

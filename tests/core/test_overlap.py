"""The overlap rule (:mod:`vecron.models.overlap`), over any set of executions of one
``overlap: skip`` job: the run refused at admission and the run skipped at its start are
counted by the same rule, and of the executions holding the job exactly one may run."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.engine import scheduled_fire
from vecron.auth import LOCAL_OPERATOR
from vecron.errors import ConflictError
from vecron.models import overlap
from vecron.models.definition import JobDefinition
from vecron.models.execution import Execution, ExecutionStatus
from vecron.runtime import Runtime

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def execution(n: int, status: ExecutionStatus, **fields: Any) -> Execution:
    base: dict[str, Any] = {
        "id": f"e{n:03}",
        "job_id": "j1",
        "job_name": "job",
        "job_version": 1,
        "idempotency_key": f"k{n}",
        "trigger": "cron",
        "triggered_by": None,
        "scheduled_at": T0,
        "not_before": T0,
        "status": status,
        "attempt": 0,
        "max_attempts": 3,
        "created_at": T0,
    }
    return Execution(**{**base, **fields})


seconds = st.integers(min_value=0, max_value=20).map(lambda s: T0 + timedelta(seconds=s))


@st.composite
def executions(draw: st.DrawFn) -> list[Execution]:
    found = []
    for n in range(draw(st.integers(min_value=0, max_value=8))):
        created = draw(seconds)
        started = draw(st.none() | seconds.map(lambda t, c=created: max(t, c)))
        status = draw(st.sampled_from(ExecutionStatus))
        if status is ExecutionStatus.RUNNING and started is None:
            started = created  # a claim stamps the start
        scheduled = draw(st.none() | seconds)
        found.append(
            execution(n, status, created_at=created, started_at=started, scheduled_at=scheduled)
        )
    return found


@given(executions())
def test_of_the_executions_holding_the_job_exactly_the_first_may_run(
    found: list[Execution],
) -> None:
    holders = [e for e in found if overlap.holds(e)]
    free = [e for e in holders if overlap.held_by(e, found) is None]
    assert free == ([min(holders, key=overlap.start_order)] if holders else [])


@given(executions(), st.booleans())
def test_a_new_run_is_refused_exactly_when_it_would_be_skipped_at_its_start(
    found: list[Execution], scheduled: bool
) -> None:
    """Admission (the store, for manual and webhook runs) and start (the worker) agree:
    a run made after every execution it sees is held by one exactly when one holds the
    job."""
    later = T0 + timedelta(minutes=1)
    new = execution(
        999,
        ExecutionStatus.RUNNING,
        created_at=later,
        started_at=later,
        scheduled_at=later if scheduled else None,
    )
    refused = any(overlap.holds(e) for e in found)
    assert (overlap.held_by(new, found) is not None) == refused


def test_what_holds_a_job() -> None:
    queued = ExecutionStatus.QUEUED
    assert overlap.holds(execution(1, ExecutionStatus.RUNNING, started_at=T0))
    # Between attempts: waiting for a retry, or handed back at shutdown.
    assert overlap.holds(execution(2, queued, started_at=T0))
    # A manual or webhook run is admitted when it is created.
    assert overlap.holds(execution(3, queued, scheduled_at=None))
    # A scheduled run created ahead of its fire time is judged when it starts.
    assert not overlap.holds(execution(4, queued))
    for final in (s for s in ExecutionStatus if s.finished):
        assert not overlap.holds(execution(5, final, started_at=T0, scheduled_at=None))


def test_a_run_admitted_first_wins_however_late_a_worker_claims_it() -> None:
    """A worker claims a scheduled run a little before its fire time; a manual run
    admitted before that claim but claimed after it still began first: it holds the job
    from its creation."""
    running = ExecutionStatus.RUNNING
    manual = execution(1, running, scheduled_at=None, created_at=T0, started_at=T0 + SECOND * 2)
    scheduled = execution(2, running, created_at=T0, started_at=T0 + SECOND)
    assert overlap.held_by(scheduled, [manual, scheduled]) is manual
    assert overlap.held_by(manual, [manual, scheduled]) is None


def test_only_a_skip_job_is_exclusive() -> None:
    def job(policy: str) -> JobDefinition:
        return JobDefinition.model_validate(
            {
                "name": "j",
                "timezone": "UTC",
                "triggers": [],
                "steps": [{"id": "a", "type": "record"}],
                "policy": {"overlap": policy},
            }
        )

    assert overlap.exclusive(job("skip")) and not overlap.exclusive(job("allow"))


# -- the rule where runs are admitted: the store, on SQLite and PostgreSQL ------------


async def test_a_manual_run_is_refused_exactly_while_an_execution_holds_the_job(
    rt: Runtime,
) -> None:
    document = {
        "name": "single",
        "steps": [{"id": "a", "type": "record"}],
        "policy": {"overlap": "skip"},
    }
    await rt.jobs.save(LOCAL_OPERATOR, rt.jobs.parse(document))
    job = await rt.store.get_job("single")
    now = datetime.now(UTC)
    # The scheduler's next fire, created ahead of its time (look-ahead): not admitted yet.
    soon = now + timedelta(seconds=1)
    ahead, _ = await rt.store.create_execution(scheduled_fire(job, soon, created_at=now))
    fired = await rt.triggers.fire(LOCAL_OPERATOR, "single", kind="manual")
    manual, created = fired.execution, fired.created
    assert created
    # The manual run holds the job from its creation: a second one is refused, and the
    # scheduled one, when it starts, is skipped (the worker asks the same rule).
    with pytest.raises(ConflictError, match=f"{manual.id} is queued"):
        await rt.triggers.fire(LOCAL_OPERATOR, "single", kind="manual")
    both = await rt.store.list_executions(job_id=job.id)
    [scheduled] = [e for e in both if e.id == ahead.id]
    assert overlap.held_by(replace(scheduled, started_at=soon), both)

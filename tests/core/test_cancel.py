"""Cancelling executions with the real worker, on SQLite and PostgreSQL.

A queued execution (new, or waiting for its retry) is cancelled at once and never runs;
a running one is marked, and the worker that holds it stops its step at its next lease
extension and records ``cancelled``; a finished one cannot be cancelled. Each ends
announced (``execution.finished``) and audited. Tests wait on states, never on time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pluggy
import pytest

from tests.support.engine import apply, running
from vecron.auth import LOCAL_OPERATOR
from vecron.errors import ConflictError, NotFoundError
from vecron.events import EventKind, ExecutionFinished
from vecron.models.execution import ExecutionStatus
from vecron.runtime import Runtime
from vecron.services.views import ExecutionSummary
from vecron.settings import Settings

#: Leases renewed every half second: the running case waits about that long.
LEASE_SECONDS = 1.5
LONG_STEP = 60.0


@pytest.fixture
async def rt(
    store_url: str, tmp_path: Path, test_pm: pluggy.PluginManager
) -> AsyncIterator[Runtime]:
    settings = Settings(
        database_url=store_url,
        storage_url=f"file://{tmp_path}/storage",
        port=0,
        lease_seconds=LEASE_SECONDS,
    )
    async with Runtime(settings, pm=test_pm) as runtime:
        yield runtime


def job(name: str, **step: Any) -> dict[str, Any]:
    return {
        "name": name,
        "triggers": [{"type": "manual"}],
        "allow_concurrent": True,
        "steps": [{"id": "a", "type": "record", "label": name, **step}],
    }


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 20) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.02)


async def status_of(rt: Runtime, execution_id: str) -> ExecutionSummary:
    return ExecutionSummary.of(await rt.store.get_execution(execution_id))


async def finished_event(events: Any, execution_id: str) -> ExecutionFinished:
    async with asyncio.timeout(20):
        async for event in events:
            if isinstance(event, ExecutionFinished) and event.execution_id == execution_id:
                return event
    raise AssertionError("no finished event")


async def test_a_queued_execution_is_cancelled_at_once_and_never_runs(
    rt: Runtime, calls: Any
) -> None:
    await apply(rt, job("doomed"))
    await apply(rt, job("witness"))
    execution = (await rt.triggers.fire(LOCAL_OPERATOR, "doomed", kind="manual")).execution
    async with rt.events.subscribe([EventKind.EXECUTION_FINISHED]) as events:
        cancelled = await rt.executions.cancel(LOCAL_OPERATOR, execution.id)
        event = await finished_event(events, execution.id)
    assert cancelled.status is ExecutionStatus.CANCELLED
    assert cancelled.finished_at is not None
    assert cancelled.error == "cancelled by local-operator"
    assert (event.status, event.error) == ("cancelled", cancelled.error)
    [entry] = await rt.store.list_audit(action="execution.cancel")
    assert entry.resource == f"execution:{execution.id}"

    # With a worker running, a later run of another job finishes; the cancelled one
    # was never started (it was published before it was cancelled: the claim refuses).
    async with running(rt):
        later = (await rt.triggers.fire(LOCAL_OPERATOR, "witness", kind="manual")).execution
        done = await rt.executions.wait(LOCAL_OPERATOR, later.id, timeout=20)
    assert done.status is ExecutionStatus.SUCCEEDED
    assert calls.counts["doomed"] == 0
    assert (await status_of(rt, execution.id)).status is ExecutionStatus.CANCELLED

    with pytest.raises(ConflictError) as again:
        await rt.executions.cancel(LOCAL_OPERATOR, execution.id)
    assert again.value.problems[0].code == "execution-finished"
    with pytest.raises(ConflictError):
        await rt.executions.cancel(LOCAL_OPERATOR, later.id)  # succeeded: finished too
    with pytest.raises(NotFoundError):
        await rt.executions.cancel(LOCAL_OPERATOR, "no-such-execution")
    assert len(await rt.store.list_audit(action="execution.cancel")) == 1


async def test_an_execution_waiting_for_its_retry_is_cancelled_at_once(
    rt: Runtime, calls: Any
) -> None:
    await apply(
        rt,
        {
            **job("flaky", fail_times=5),
            "retry": {"max_attempts": 5, "delay": 600, "jitter": 0},
        },
    )
    async with running(rt):
        execution = (await rt.triggers.fire(LOCAL_OPERATOR, "flaky", kind="manual")).execution

        async def waiting_for_retry() -> bool:
            e = await rt.store.get_execution(execution.id)
            return e.status is ExecutionStatus.QUEUED and e.attempt == 1 and e.error is not None

        await until(waiting_for_retry)
        cancelled = await rt.executions.cancel(LOCAL_OPERATOR, execution.id)
    assert cancelled.status is ExecutionStatus.CANCELLED and cancelled.attempt == 1
    assert calls.counts["flaky"] == 1


async def test_a_running_execution_is_stopped_by_its_worker(rt: Runtime, calls: Any) -> None:
    await apply(rt, job("long", sleep=LONG_STEP))
    async with running(rt), rt.events.subscribe([EventKind.EXECUTION_FINISHED]) as events:
        execution = (await rt.triggers.fire(LOCAL_OPERATOR, "long", kind="manual")).execution

        async def step_started() -> bool:
            e = await rt.store.get_execution(execution.id)
            return e.status is ExecutionStatus.RUNNING and calls.counts["long"] == 1

        await until(step_started)
        asked = time.monotonic()
        marked = await rt.executions.cancel(LOCAL_OPERATOR, execution.id)
        assert marked.status is ExecutionStatus.RUNNING
        assert marked.cancel_requested_at is not None
        # Asking again changes nothing and is not audited twice.
        again = await rt.executions.cancel(LOCAL_OPERATOR, execution.id)
        assert again.cancel_requested_at == marked.cancel_requested_at
        event = await finished_event(events, execution.id)
        ended = await rt.executions.wait(LOCAL_OPERATOR, execution.id, timeout=20)
    took = time.monotonic() - asked
    assert event.status == "cancelled"
    assert ended.status is ExecutionStatus.CANCELLED
    assert ended.error == "cancelled on request"
    assert ended.dead_lettered_at is None and ended.finished_at is not None
    assert took < LONG_STEP / 2  # stopped mid-step, not after it
    assert calls.counts["long"] == 1
    assert len(await rt.store.list_audit(action="execution.cancel")) == 1
    # The job goes on: its next run is not cancelled.
    await apply(rt, job("long"))
    async with running(rt):
        next_run = (await rt.triggers.fire(LOCAL_OPERATOR, "long", kind="manual")).execution
        done = await rt.executions.wait(LOCAL_OPERATOR, next_run.id, timeout=20)
    assert done.status is ExecutionStatus.SUCCEEDED


async def test_cancelling_a_fixed_delay_run_plans_the_next_one(rt: Runtime) -> None:
    # A fixed-delay job fires again only after a run ends: a run cancelled before it
    # started must count as that end, or the job would never fire again.
    await apply(
        rt,
        {
            "name": "poller",
            "triggers": [{"type": "fixed_delay", "delay": 3600, "initial_delay": 0}],
            "steps": [{"id": "a", "type": "record"}],
        },
    )
    assert (await rt.scheduler().tick()).created
    job = await rt.store.get_job("poller")
    assert job.next_fire_at is None  # waiting for the run to end
    [execution] = await rt.store.list_executions(job_id=job.id)
    cancelled = await rt.executions.cancel(LOCAL_OPERATOR, execution.id)
    assert cancelled.finished_at is not None
    after = await rt.store.get_job("poller")
    assert after.last_finished_at == cancelled.finished_at
    assert after.next_fire_at == cancelled.finished_at + timedelta(hours=1)

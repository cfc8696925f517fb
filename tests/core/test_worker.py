"""The execution path: steps in order, retries with backoff, final errors, timeouts."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.support.engine import apply, run_and_wait, running
from vecron.auth import LOCAL_OPERATOR
from vecron.events import DeadLettered, Event
from vecron.execution.worker import Worker
from vecron.jobs.context import JobContextStore
from vecron.models.execution import ExecutionStatus, StepStatus
from vecron.runtime import Runtime

FAST_RETRY = {"max_attempts": 3, "delay": 0.05, "factor": 2, "jitter": 0.5}


def job(name: str, *steps: dict[str, Any], **over: Any) -> dict[str, Any]:
    return {
        "name": name,
        "triggers": [{"type": "manual"}],
        "steps": list(steps),
        "retry": FAST_RETRY,
        **over,
    }


async def test_steps_run_in_order_and_see_earlier_outputs(runtime: Runtime, calls: Any) -> None:
    await apply(
        runtime,
        job(
            "ordered",
            {"id": "a", "type": "record", "label": "a"},
            {"id": "b", "type": "record", "label": "b"},
            {"id": "c", "type": "record", "label": "c"},
        ),
    )
    async with running(runtime):
        detail = await run_and_wait(runtime, "ordered")
    assert detail.status is ExecutionStatus.SUCCEEDED
    assert [s.step_id for s in detail.steps] == ["a", "b", "c"]
    assert [s.output["previous"] for s in detail.steps if s.output] == [[], ["a"], ["a", "b"]]
    assert detail.trigger == "manual" and detail.triggered_by == "test"


async def test_retryable_failure_backs_off_then_dead_letters(runtime: Runtime, calls: Any) -> None:
    await apply(
        runtime, job("flaky", {"id": "a", "type": "record", "label": "f", "fail_times": 99})
    )
    async with running(runtime):
        detail = await run_and_wait(runtime, "flaky")
    e = detail
    assert e.status is ExecutionStatus.FAILED
    assert e.attempt == 3 and e.max_attempts == 3
    assert e.dead_lettered_at is not None
    assert [a for _, _, a in calls.attempts] == [1, 2, 3]
    assert "attempt 3 failed" in (e.error or "")


async def test_backoff_waits_between_attempts(runtime: Runtime, calls: Any) -> None:
    await apply(
        runtime,
        job(
            "slow-retry",
            {"id": "a", "type": "record", "label": "r", "fail_times": 1, "retry_after": 0.4},
        ),
    )
    async with running(runtime):
        detail = await run_and_wait(runtime, "slow-retry")
    assert detail.status is ExecutionStatus.SUCCEEDED
    assert detail.attempt == 2
    # Retry-After (0.4 s) beats the computed backoff (~0.05 s).
    assert len(calls.started) == 2
    assert calls.started[1] - calls.started[0] >= 0.4
    assert detail.steps[0].attempt == 2
    # started_at is the start of the attempt that finished it.
    assert detail.started_at is not None
    assert abs((detail.steps[0].started_at - detail.started_at).total_seconds()) < 0.2


async def test_final_error_is_not_retried(runtime: Runtime, calls: Any) -> None:
    await apply(runtime, job("refused", {"id": "a", "type": "record", "label": "n", "final": True}))
    async with running(runtime):
        detail = await run_and_wait(runtime, "refused")
    assert detail.status is ExecutionStatus.FAILED
    assert detail.attempt == 1
    assert calls.counts["n"] == 1
    assert detail.steps[0].status is StepStatus.FAILED
    assert "n refused" in (detail.steps[0].error or "")


async def test_step_timeout_cancels_and_records_timed_out(runtime: Runtime, calls: Any) -> None:
    await apply(
        runtime,
        job(
            "sleepy",
            {"id": "a", "type": "record", "label": "s", "sleep": 30, "timeout": 0.2},
            retry={"max_attempts": 1},
        ),
    )
    async with running(runtime):
        detail = await run_and_wait(runtime, "sleepy")
    assert detail.status is ExecutionStatus.TIMED_OUT
    assert detail.steps[0].status is StepStatus.TIMED_OUT
    assert (detail.steps[0].finished_at - detail.steps[0].started_at).total_seconds() < 5


async def test_job_timeout_bounds_the_whole_execution(runtime: Runtime, calls: Any) -> None:
    await apply(
        runtime,
        job(
            "long",
            {"id": "a", "type": "record", "label": "l", "sleep": 30},
            timeout=0.3,
            retry={"max_attempts": 1},
        ),
    )
    async with running(runtime):
        detail = await run_and_wait(runtime, "long")
    assert detail.status is ExecutionStatus.TIMED_OUT
    assert "job timed out" in (detail.error or "")


async def test_retry_resumes_at_the_failed_step(runtime: Runtime, calls: Any) -> None:
    await apply(
        runtime,
        job(
            "resume",
            {"id": "a", "type": "record", "label": "first"},
            {"id": "b", "type": "record", "label": "second", "fail_times": 1},
        ),
    )
    async with running(runtime):
        detail = await run_and_wait(runtime, "resume")
    assert detail.status is ExecutionStatus.SUCCEEDED
    assert calls.counts["first"] == 1  # step a was checkpointed and not run again
    assert calls.counts["second"] == 2
    assert {s.step_id: s.attempt for s in detail.steps} == {"a": 1, "b": 2}


async def test_manual_idempotency_key_gives_the_same_execution(runtime: Runtime) -> None:
    await apply(runtime, job("once-only", {"id": "a", "type": "record"}))
    fired = await runtime.triggers.fire(
        LOCAL_OPERATOR, "once-only", idempotency_key="k1", kind="manual"
    )
    first, created = fired.execution, fired.created
    fired = await runtime.triggers.fire(
        LOCAL_OPERATOR,
        "once-only",
        idempotency_key="k1",
        kind="manual",
    )
    again, created_again = fired.execution, fired.created
    assert created and not created_again
    assert first.id == again.id


async def test_retry_budget_ends_retries_early(runtime: Runtime, calls: Any) -> None:
    await apply(
        runtime,
        job(
            "budgeted",
            {"id": "a", "type": "record", "label": "b", "fail_times": 99},
            retry={"max_attempts": 50, "delay": 0.2, "factor": 1, "jitter": 0, "budget": 0.5},
        ),
    )
    async with running(runtime):
        detail = await run_and_wait(runtime, "budgeted")
    assert detail.status is ExecutionStatus.FAILED
    assert detail.attempt < 50
    assert "retry budget of 0.5 s spent" in (detail.error or "")


async def test_dead_letter_rerun_resumes_at_the_failed_step(runtime: Runtime, calls: Any) -> None:
    await apply(
        runtime,
        job(
            "rerun-me",
            {"id": "a", "type": "record", "label": "first"},
            {"id": "b", "type": "record", "label": "second", "fail_times": 3},
            retry={"max_attempts": 2, "delay": 0.01},
        ),
    )
    async with running(runtime):
        dead = await run_and_wait(runtime, "rerun-me")
        assert dead.status is ExecutionStatus.FAILED and dead.dead_lettered_at
        again = await runtime.executions.rerun(LOCAL_OPERATOR, dead.id)
        runtime.wakeup.notify()
        assert again.id == dead.id
        done = await runtime.executions.wait(LOCAL_OPERATOR, again.id, timeout=20)
    assert done.status is ExecutionStatus.SUCCEEDED
    assert calls.counts["first"] == 1  # step a's result was kept: not run again
    assert calls.counts["second"] == 4
    keys = {(e, s) for e, s, _ in calls.attempts}
    assert keys == {(dead.id, "a"), (dead.id, "b")}  # same idempotency keys


async def test_stopping_worker_hands_back_what_it_cannot_finish(
    runtime: Runtime, calls: Any
) -> None:
    import asyncio

    await apply(runtime, job("slow", {"id": "a", "type": "record", "label": "s", "sleep": 30}))
    execution = (await runtime.triggers.fire(LOCAL_OPERATOR, "slow", kind="manual")).execution
    stop = asyncio.Event()
    worker = runtime.worker()
    scheduler_stop = asyncio.Event()
    scheduler = asyncio.create_task(runtime.scheduler().run(scheduler_stop))
    task = asyncio.create_task(worker.run(stop, grace=0.2))
    for _ in range(100):
        if calls.counts["s"]:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await task
    scheduler_stop.set()
    await scheduler
    back = await runtime.store.get_execution(execution.id)
    assert back.status is ExecutionStatus.QUEUED
    assert back.attempt == 0  # handing back used no attempt
    assert back.lease_owner is None and not back.published


async def test_duplicate_deliveries_in_one_batch_run_once(runtime: Runtime, calls: Any) -> None:
    from vecron.queue import QueueMessage

    await apply(runtime, job("dup", {"id": "a", "type": "record", "label": "d"}))
    execution = (await runtime.triggers.fire(LOCAL_OPERATOR, "dup", kind="manual")).execution
    message = QueueMessage(execution.id, execution.not_before, execution.attempt)
    await runtime.queue.publish([message, message, message])  # e.g. a re-send and the original
    async with running(runtime, scheduler=False):
        done = await runtime.executions.wait(LOCAL_OPERATOR, execution.id, timeout=20)
        await asyncio.sleep(0.3)
    assert done.status is ExecutionStatus.SUCCEEDED
    assert calls.counts["d"] == 1


async def test_resumed_execution_reads_earlier_outputs(runtime: Runtime, calls: Any) -> None:
    await apply(
        runtime,
        job(
            "resume-context",
            {"id": "a", "type": "record", "label": "first"},
            {"id": "b", "type": "record", "label": "{{ steps.a.output.label }}-x", "fail_times": 1},
        ),
    )
    async with running(runtime):
        detail = await run_and_wait(runtime, "resume-context")
    assert detail.status is ExecutionStatus.SUCCEEDED
    assert calls.counts["first"] == 1  # step a ran once
    assert calls.counts["first-x"] == 2  # step b saw a's output on both attempts
    assert detail.attempt == 2


async def test_a_step_timeout_is_retried_then_ends_timed_out(runtime: Runtime, calls: Any) -> None:
    """docs/jobs.md: a timeout is a retryable failure; after the last attempt the
    execution is ``timed_out`` and dead-lettered."""
    await apply(
        runtime,
        job(
            "slowpoke",
            {"id": "a", "type": "record", "label": "t", "sleep": 30, "timeout": 0.2},
            retry={"max_attempts": 2, "delay": 0.01},
        ),
    )
    async with running(runtime):
        detail = await run_and_wait(runtime, "slowpoke")
    assert calls.counts["t"] == 2
    assert (detail.status, detail.attempt) == (ExecutionStatus.TIMED_OUT, 2)
    assert detail.dead_lettered_at is not None
    assert detail.error == "step timed out after 0.2 s"


async def test_a_step_type_no_longer_installed_fails_the_execution_cleanly(
    runtime: Runtime, calls: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    await apply(runtime, job("orphaned", {"id": "a", "type": "record", "label": "o"}))
    del runtime.registry.executors["record"]  # its plugin was uninstalled since
    installed = ", ".join(sorted(runtime.registry.executors))
    async with running(runtime):
        detail = await run_and_wait(runtime, "orphaned")
    assert detail.status is ExecutionStatus.FAILED
    assert detail.error == f"unknown step type 'record'; installed: {installed}"
    assert detail.dead_lettered_at is not None and detail.steps == []
    assert calls.counts["o"] == 0
    log = capfd.readouterr()
    assert "Traceback" not in log.out + log.err
    assert "execution handling failed" not in log.out + log.err
    assert "execution finished" in log.out + log.err


class Recorded:
    """An event sink that keeps what it is given."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)


async def test_the_worker_emits_typed_events(runtime: Runtime, calls: Any) -> None:
    await apply(runtime, job("twice", {"id": "a", "type": "record", "label": "w", "fail_times": 1}))
    await apply(runtime, job("never", {"id": "a", "type": "record", "final": True}))
    sink = Recorded()
    worker = Worker(
        runtime.store,
        runtime.queue,
        runtime.registry,
        events=sink,
        wakeup=runtime.wakeup,
        contexts=JobContextStore(runtime.storage),
        storage=runtime.storage,
    )
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(runtime.scheduler().run(stop)),
        asyncio.create_task(worker.run(stop, grace=5)),
    ]
    try:
        retried = await run_and_wait(runtime, "twice")
        dead = await run_and_wait(runtime, "never")
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    assert retried.status is ExecutionStatus.SUCCEEDED
    seen = [(type(e).__name__, getattr(e, "status", None)) for e in sink.events]
    of_retried = [
        (type(e).__name__, getattr(e, "status", None))
        for e in sink.events
        if getattr(e, "execution_id", None) == retried.id
    ]
    assert of_retried == [
        ("ExecutionStarted", None),
        ("StepFinished", "failed"),
        ("RetryScheduled", None),
        ("ExecutionStarted", None),
        ("StepFinished", "succeeded"),
        ("ExecutionFinished", "succeeded"),
    ]
    assert seen[-3:] == [
        ("StepFinished", "failed"),
        ("ExecutionFinished", "failed"),
        ("DeadLettered", None),
    ]
    [dead_lettered] = [e for e in sink.events if isinstance(e, DeadLettered)]
    assert (dead_lettered.execution_id, dead_lettered.attempts) == (dead.id, 1)
    assert all(e.kind.value == e.model_dump(mode="json")["kind"] for e in sink.events)

"""The execution path: steps in order, retries with backoff, final errors, timeouts."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.support.engine import apply, run_and_wait, running
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
    assert detail.execution.status is ExecutionStatus.SUCCEEDED
    assert [s.step_id for s in detail.steps] == ["a", "b", "c"]
    assert [s.output["previous"] for s in detail.steps if s.output] == [[], ["a"], ["a", "b"]]
    assert detail.execution.trigger == "manual" and detail.execution.triggered_by == "test"


async def test_retryable_failure_backs_off_then_dead_letters(runtime: Runtime, calls: Any) -> None:
    await apply(
        runtime, job("flaky", {"id": "a", "type": "record", "label": "f", "fail_times": 99})
    )
    async with running(runtime):
        detail = await run_and_wait(runtime, "flaky")
    e = detail.execution
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
    assert detail.execution.status is ExecutionStatus.SUCCEEDED
    assert detail.execution.attempt == 2
    # Retry-After (0.4 s) beats the computed backoff (~0.05 s).
    assert len(calls.started) == 2
    assert calls.started[1] - calls.started[0] >= 0.4
    assert detail.steps[0].attempt == 2
    # started_at is the start of the attempt that finished it.
    assert detail.execution.started_at is not None
    assert abs((detail.steps[0].started_at - detail.execution.started_at).total_seconds()) < 0.2


async def test_final_error_is_not_retried(runtime: Runtime, calls: Any) -> None:
    await apply(runtime, job("refused", {"id": "a", "type": "record", "label": "n", "final": True}))
    async with running(runtime):
        detail = await run_and_wait(runtime, "refused")
    assert detail.execution.status is ExecutionStatus.FAILED
    assert detail.execution.attempt == 1
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
    assert detail.execution.status is ExecutionStatus.TIMED_OUT
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
    assert detail.execution.status is ExecutionStatus.TIMED_OUT
    assert "job timed out" in (detail.execution.error or "")


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
    assert detail.execution.status is ExecutionStatus.SUCCEEDED
    assert calls.counts["first"] == 1  # step a was checkpointed and not run again
    assert calls.counts["second"] == 2
    assert {s.step_id: s.attempt for s in detail.steps} == {"a": 1, "b": 2}


async def test_manual_idempotency_key_gives_the_same_execution(runtime: Runtime) -> None:
    await apply(runtime, job("once-only", {"id": "a", "type": "record"}))
    first, created = await runtime.jobs.run_now("once-only", idempotency_key="k1")
    again, created_again = await runtime.jobs.run_now("once-only", idempotency_key="k1")
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
    assert detail.execution.status is ExecutionStatus.FAILED
    assert detail.execution.attempt < 50
    assert "retry budget of 0.5 s spent" in (detail.execution.error or "")


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
        assert dead.execution.status is ExecutionStatus.FAILED and dead.execution.dead_lettered_at
        again = await runtime.executions.rerun(dead.execution.id)
        runtime.wakeup.notify()
        assert again.id == dead.execution.id
        done = await runtime.executions.wait(again.id, timeout=20)
    assert done.execution.status is ExecutionStatus.SUCCEEDED
    assert calls.counts["first"] == 1  # step a's result was kept: not run again
    assert calls.counts["second"] == 4
    keys = {(e, s) for e, s, _ in calls.attempts}
    assert keys == {(dead.execution.id, "a"), (dead.execution.id, "b")}  # same idempotency keys


async def test_stopping_worker_hands_back_what_it_cannot_finish(
    runtime: Runtime, calls: Any
) -> None:
    import asyncio

    await apply(runtime, job("slow", {"id": "a", "type": "record", "label": "s", "sleep": 30}))
    execution, _ = await runtime.jobs.run_now("slow")
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
    execution, _ = await runtime.jobs.run_now("dup")
    message = QueueMessage(execution.id, execution.not_before, execution.attempt)
    await runtime.queue.publish([message, message, message])  # e.g. a re-send and the original
    async with running(runtime, scheduler=False):
        done = await runtime.executions.wait(execution.id, timeout=20)
        await asyncio.sleep(0.3)
    assert done.execution.status is ExecutionStatus.SUCCEEDED
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
    assert detail.execution.status is ExecutionStatus.SUCCEEDED
    assert calls.counts["first"] == 1  # step a ran once
    assert calls.counts["first-x"] == 2  # step b saw a's output on both attempts
    assert detail.execution.attempt == 2

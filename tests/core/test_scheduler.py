"""Scheduler ticks: fires become executions once, misfire policies, the ledger."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from vecron.auth import LOCAL_OPERATOR
from vecron.models.execution import OccurrenceStatus
from vecron.runtime import Runtime
from vecron.scheduling.scheduler import Scheduler

NOW = datetime(2026, 1, 1, 0, 1, 5, tzinfo=UTC)
T0 = datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC)


def every_10s(name: str, **policy: Any) -> dict[str, Any]:
    return {
        "name": name,
        "timezone": "UTC",
        "triggers": [{"type": "cron", "expression": "*/10 * * * * ?"}],
        "steps": [{"id": "a", "type": "record"}],
        "policy": {"misfire_grace": 1, **policy},
    }


async def stale_job(rt: Runtime, doc: dict[str, Any]) -> Any:
    """A job whose next fire is long past, as after scheduler downtime."""
    definition = rt.jobs.parse(doc)
    return (await rt.store.save_job(definition, next_fire_at=T0, now=T0 - timedelta(hours=1))).job


def scheduler(rt: Runtime) -> Scheduler:
    return Scheduler(
        rt.store, rt.queue, rt.registry, wakeup=rt.wakeup, lookahead=1.0, clock=lambda: NOW
    )


LATE = [T0 + timedelta(seconds=10 * i) for i in range(7)]  # 00:00:00 … 00:01:00


@pytest.mark.parametrize(
    ("policy", "ran", "statuses"),
    [
        ({"misfire": "skip"}, [], {OccurrenceStatus.MISSED: 7}),
        (
            {"misfire": "run_once"},
            LATE[-1:],
            {OccurrenceStatus.COALESCED: 6, OccurrenceStatus.FIRED: 1},
        ),
        (
            {"misfire": "run_all", "run_all_cap": 3},
            LATE[-3:],
            {OccurrenceStatus.MISSED: 4, OccurrenceStatus.FIRED: 3},
        ),
    ],
)
async def test_misfire_policy(
    runtime: Runtime,
    policy: dict[str, Any],
    ran: list[datetime],
    statuses: dict[OccurrenceStatus, int],
) -> None:
    job = await stale_job(runtime, every_10s("late", **policy))
    report = await scheduler(runtime).tick()
    assert sorted(e.scheduled_at for e in report.created if e.scheduled_at) == ran
    assert all(e.not_before >= NOW for e in report.created)  # late runs start now, not in the past
    ledger = await runtime.store.occurrences(job.id)
    counts: dict[OccurrenceStatus, int] = {}
    for o in ledger:
        counts[o.status] = counts.get(o.status, 0) + 1
    assert counts == statuses
    assert sorted(o.fire_time for o in ledger) == LATE
    after = await runtime.store.get_job(job.id)
    assert after.next_fire_at == datetime(2026, 1, 1, 0, 1, 10, tzinfo=UTC)


async def test_a_second_tick_creates_nothing_new(runtime: Runtime) -> None:
    await stale_job(runtime, every_10s("twice", misfire="run_all"))
    first = await scheduler(runtime).tick()
    second = await scheduler(runtime).tick()
    assert len(first.created) == 7
    assert second.created == []


async def test_disabled_job_is_not_fired(runtime: Runtime) -> None:
    job = await stale_job(runtime, every_10s("off"))
    await runtime.jobs.set_enabled(LOCAL_OPERATOR, job.name, False)
    report = await scheduler(runtime).tick()
    assert report.created == []


async def test_manual_only_job_is_never_scheduled(runtime: Runtime) -> None:
    definition = runtime.jobs.parse(
        {
            "name": "by-hand",
            "triggers": [{"type": "manual"}],
            "steps": [{"id": "a", "type": "record"}],
        }
    )
    saved = await runtime.jobs.save(LOCAL_OPERATOR, definition)
    assert saved.job.next_fire_at is None
    assert (await runtime.store.next_wakeup()) is None


async def test_jitter_delays_start_but_not_the_fire_time(runtime: Runtime) -> None:
    await stale_job(runtime, every_10s("jittery", misfire="run_all", jitter=5))
    report = await scheduler(runtime).tick()
    assert report.created
    for e in report.created:
        assert e.scheduled_at in LATE
        assert NOW <= e.not_before <= NOW + timedelta(seconds=5)


async def test_overlap_skip_runs_one_and_records_the_rest_as_skipped(runtime: Runtime) -> None:
    from tests.support.engine import running

    doc = every_10s("exclusive", misfire="run_all", overlap="skip")
    doc["steps"] = [{"id": "a", "type": "record", "sleep": 0.5}]
    job = await stale_job(runtime, doc)
    report = await scheduler(runtime).tick()
    assert len(report.created) == 7
    async with running(runtime, scheduler=False):
        for _ in range(100):
            executions = await runtime.store.list_executions(job_id=job.id)
            if all(e.status.finished for e in executions):
                break
            await asyncio.sleep(0.05)
    statuses = sorted(e.status.value for e in executions)
    assert statuses == ["skipped"] * 6 + ["succeeded"]
    winner = next(e for e in executions if e.status.value == "succeeded")
    assert winner.scheduled_at == LATE[0]  # claimed together: the earliest fire time wins
    ledger = {o.fire_time: o for o in await runtime.store.occurrences(job.id)}
    assert ledger[LATE[0]].status is OccurrenceStatus.FIRED
    assert all(ledger[f].status is OccurrenceStatus.SKIPPED for f in LATE[1:])
    assert all("another execution" in (ledger[f].reason or "") for f in LATE[1:])


async def test_manual_run_of_a_busy_no_overlap_job_is_refused(runtime: Runtime) -> None:
    from vecron.errors import ConflictError

    await runtime.jobs.save(
        LOCAL_OPERATOR,
        runtime.jobs.parse(
            {
                "name": "single",
                "triggers": [{"type": "manual"}],
                "steps": [{"id": "a", "type": "record"}],
                "policy": {"overlap": "skip"},
            }
        ),
    )
    await runtime.triggers.fire(LOCAL_OPERATOR, "single", kind="manual")
    with pytest.raises(ConflictError, match="already running"):
        await runtime.triggers.fire(LOCAL_OPERATOR, "single", kind="manual")


async def test_a_fenced_scheduler_writes_nothing(runtime: Runtime) -> None:
    from vecron.errors import FencedOut

    job = await stale_job(runtime, every_10s("fenced", misfire="run_all"))
    paused = scheduler(runtime)
    assert await paused.lead()
    await runtime.store.elect("the-new-leader", NOW)  # elected while `paused` slept
    with pytest.raises(FencedOut):
        await paused.tick()
    assert await runtime.store.list_executions(job_id=job.id) == []


async def test_new_leader_resends_what_the_last_process_left_unclaimed(runtime: Runtime) -> None:
    await runtime.jobs.save(
        LOCAL_OPERATOR,
        runtime.jobs.parse({"name": "orphan", "steps": [{"id": "a", "type": "record"}]}),
    )
    execution = (await runtime.triggers.fire(LOCAL_OPERATOR, "orphan", kind="manual")).execution
    await runtime.store.mark_published(
        [execution]
    )  # published to a queue that died with its process
    fresh = Scheduler(runtime.store, runtime.queue, runtime.registry, wakeup=runtime.wakeup)
    assert await fresh.lead()
    report = await fresh.tick()
    assert report.created == []
    deliveries = await runtime.queue.fetch(10, timeout=0.1)
    assert [d.message.execution_id for d in deliveries] == [execution.id]
    assert deliveries[0].message.resend


@pytest.mark.parametrize("period", [10, 0.5, 3600])
async def test_a_new_fixed_rate_job_fires_once_per_period(runtime: Runtime, period: float) -> None:
    """The first fire and every later one count from the same anchor: the job's start.
    (Planned once from "now - 1 µs" and then from ``created_at``, the first fire time
    used to come twice, a microsecond apart: two executions.)"""
    runtime.jobs.clock = lambda: NOW
    await runtime.jobs.save(
        LOCAL_OPERATOR,
        runtime.jobs.parse(
            {
                "name": "rate",
                "timezone": "UTC",
                "triggers": [{"type": "fixed_rate", "period": period}],
                "steps": [{"id": "a", "type": "record"}],
            }
        ),
    )
    step = timedelta(seconds=period)
    fired: list[datetime] = []
    for k in range(4):
        at = NOW + k * step
        report = await Scheduler(
            runtime.store,
            runtime.queue,
            runtime.registry,
            wakeup=runtime.wakeup,
            lookahead=0,
            clock=lambda at=at: at,
        ).tick()
        fired += [e.scheduled_at for e in report.created if e.scheduled_at]
    assert fired == [NOW + k * step for k in range(4)]
    job = await runtime.store.get_job("rate")
    ledger = sorted(o.fire_time for o in await runtime.store.occurrences(job.id))
    assert ledger == fired


async def test_a_fire_while_a_no_overlap_run_waits_for_its_retry_is_skipped(
    runtime: Runtime, calls: Any
) -> None:
    """A run between two attempts has not ended: a fire of an ``overlap: skip`` job that
    comes meanwhile is skipped, not run beside the coming retry."""
    from tests.support.engine import running, scheduled_fire
    from vecron.models.execution import ExecutionStatus

    doc = every_10s("patient", overlap="skip")
    doc["steps"] = [{"id": "a", "type": "record", "label": "p", "fail_times": 1}]
    doc["retry"] = {"max_attempts": 3, "delay": 3600}
    await runtime.jobs.save(LOCAL_OPERATOR, runtime.jobs.parse(doc))
    job = await runtime.store.get_job("patient")
    first = (await runtime.triggers.fire(LOCAL_OPERATOR, "patient", kind="manual")).execution
    async with running(runtime):
        async with asyncio.timeout(120):
            while True:  # attempt 1 failed; the retry waits an hour
                waiting = await runtime.store.get_execution(first.id)
                if waiting.status is ExecutionStatus.QUEUED and waiting.attempt == 1:
                    break
                await asyncio.sleep(0.02)
        now = datetime.now(UTC)
        fire, _ = await runtime.store.create_execution(scheduled_fire(job, now, created_at=now))
        runtime.wakeup.notify()
        async with asyncio.timeout(120):
            while True:  # skipped, or (before) run and now waiting for a retry itself
                later = await runtime.store.get_execution(fire.id)
                if later.status.finished or (
                    later.attempt >= 1 and later.status is ExecutionStatus.QUEUED
                ):
                    break
                await asyncio.sleep(0.02)
    assert later.status is ExecutionStatus.SKIPPED
    assert calls.counts["p"] == 1  # only the first attempt ran

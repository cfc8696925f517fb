"""Crash tests with real processes on PostgreSQL + NATS JetStream + Redis (issue 3).

Every fire time and every manual run becomes one execution, and each finished step runs
once, whatever is killed, paused or stopped.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from tests.support.cluster import (
    Cluster,
    Target,
    distributed_env,
    serve_target,
    settings_of,
    until,
)
from tests.support.pg_fixtures import postgresql_url  # noqa: F401  (a fixture)
from vecron.auth import LOCAL_OPERATOR
from vecron.models.execution import ExecutionStatus
from vecron.runtime import Runtime

pytestmark = pytest.mark.slow


@pytest.fixture
async def target() -> AsyncIterator[Target]:
    async with serve_target() as t:
        yield t


@pytest.fixture
async def env(postgresql_url: str) -> dict[str, str]:  # noqa: F811
    return distributed_env(postgresql_url)


@pytest.fixture
async def rt(env: dict[str, str]) -> AsyncIterator[Runtime]:
    async with Runtime(settings_of(env)) as runtime:
        yield runtime


def three_steps(name: str, target: Target, slow_ms: int) -> dict[str, Any]:
    return {
        "name": name,
        "triggers": [{"type": "manual"}],
        "retry": {"max_attempts": 5, "delay": 0.2},
        "steps": [
            {"id": "first", "type": "http", "url": f"{target.url}/ok"},
            {
                "id": "middle",
                "type": "http",
                "url": f"{target.url}/slow?ms={slow_ms}",
                "timeout": 60,
            },
            {"id": "last", "type": "http", "url": f"{target.url}/ok"},
        ],
    }


async def finished(rt: Runtime, execution_id: str) -> Any:
    execution = await rt.store.get_execution(execution_id)
    return execution if execution.status.finished else None


async def test_kill_9_worker_mid_execution(rt: Runtime, cluster: Cluster, target: Target) -> None:
    await rt.jobs.save(LOCAL_OPERATOR, rt.jobs.parse(three_steps("crashy", target, slow_ms=2500)))
    cluster.start("scheduler", "scheduler")
    cluster.start("w1", "worker")
    execution = (await rt.triggers.fire(LOCAL_OPERATOR, "crashy", kind="manual")).execution
    middle = f"{execution.id}:middle"

    async def middle_started() -> bool:
        return target.started[middle] >= 1

    await until(middle_started, timeout=30)
    cluster.signal("w1", signal.SIGKILL)
    cluster.procs["w1"].wait()
    cluster.start("w2", "worker")
    done = await until(lambda: finished(rt, execution.id), timeout=60)
    assert done.status is ExecutionStatus.SUCCEEDED
    assert done.attempt == 2  # the second attempt resumed the first one's work
    assert target.keys[f"{execution.id}:first"] == 1  # completed before the kill: not again
    assert target.keys[f"{execution.id}:last"] == 1
    assert target.started[middle] == 2  # the step the kill interrupted ran again
    assert len(await rt.store.list_executions()) == 1


async def test_sigterm_worker_hands_back_and_exits_0(
    rt: Runtime, tmp_path: Path, env: dict[str, str], target: Target
) -> None:
    cluster = Cluster(tmp_path, {**env, "VECRON_SHUTDOWN_GRACE": "0.5"})
    try:
        await rt.jobs.save(
            LOCAL_OPERATOR, rt.jobs.parse(three_steps("stoppable", target, slow_ms=4000))
        )
        cluster.start("scheduler", "scheduler")
        cluster.start("w1", "worker")
        execution = (await rt.triggers.fire(LOCAL_OPERATOR, "stoppable", kind="manual")).execution

        async def middle_started() -> bool:
            return target.started[f"{execution.id}:middle"] >= 1

        await until(middle_started, timeout=30)
        assert cluster.stop("w1", timeout=20) == 0
        handed = await rt.store.get_execution(execution.id)
        assert handed.status is ExecutionStatus.QUEUED  # handed back, not left to its lease
        assert "handed executions back" in cluster.log("w1")
        cluster.start("w2", "worker")
        done = await until(lambda: finished(rt, execution.id), timeout=60)
        assert done.status is ExecutionStatus.SUCCEEDED
        assert target.keys[f"{execution.id}:first"] == 1
        assert target.keys[f"{execution.id}:last"] == 1
    finally:
        cluster.stop_all()


def per_second(name: str, target: Target) -> dict[str, Any]:
    return {
        "name": name,
        "timezone": "UTC",
        "triggers": [{"type": "cron", "expression": "* * * * * ?"}],
        "policy": {"misfire": "run_all", "misfire_grace": 120},
        "steps": [{"id": "ping", "type": "http", "url": f"{target.url}/ok"}],
    }


async def assert_each_fire_once(rt: Runtime, jobs: int) -> dict[str, list[Any]]:
    executions = await rt.store.list_executions(limit=1_000_000)
    keys = Counter((e.job_id, e.scheduled_at) for e in executions)
    assert keys and max(keys.values()) == 1, "a fire time ran twice"
    per_job: dict[str, list[Any]] = {}
    for e in executions:
        per_job.setdefault(e.job_id, []).append(e.scheduled_at)
    assert len(per_job) == jobs
    for fires in per_job.values():
        fires.sort()
        gaps = [b - a for a, b in pairwise(fires) if b - a != timedelta(seconds=1)]
        assert gaps == [], f"fire times lost: {gaps[:3]}"
    return per_job


async def test_two_schedulers_for_a_minute(rt: Runtime, cluster: Cluster, target: Target) -> None:
    await rt.jobs.save_many(
        LOCAL_OPERATOR, [rt.jobs.parse(per_second(f"tick-{i}", target)) for i in range(20)]
    )
    for name in ("s1", "s2"):
        cluster.start(name, "scheduler")
    for name in ("w1", "w2"):
        cluster.start(name, "worker")
    await asyncio.sleep(60)
    for name in ("s1", "s2"):
        assert cluster.stop(name) == 0
    await asyncio.sleep(3)  # let the workers finish what is due
    per_job = await assert_each_fire_once(rt, 20)
    assert min(len(f) for f in per_job.values()) >= 55
    executions = await rt.store.list_executions(limit=100_000)
    assert Counter(target.keys.values()) == Counter({1: len(target.keys)})  # no request twice
    succeeded = [e for e in executions if e.status is ExecutionStatus.SUCCEEDED]
    assert len(succeeded) >= len(executions) - 40  # the last second's may still be queued


async def test_paused_leader_is_fenced_after_a_standby_takes_over(
    rt: Runtime, cluster: Cluster, target: Target
) -> None:
    await rt.jobs.save_many(
        LOCAL_OPERATOR, [rt.jobs.parse(per_second(f"beat-{i}", target)) for i in range(5)]
    )
    cluster.start("a", "scheduler")
    await until(lambda: "leading the schedule" in cluster.log("a"), timeout=20)
    cluster.start("b", "scheduler")
    cluster.start("w", "worker")
    await asyncio.sleep(2)
    cluster.signal("a", signal.SIGSTOP)
    await until(lambda: "leading the schedule" in cluster.log("b"), timeout=20)
    await asyncio.sleep(3)
    before_resume = len(cluster.log("a"))
    cluster.signal("a", signal.SIGCONT)
    await asyncio.sleep(4)
    after = cluster.log("a")[before_resume:]
    assert "lost the scheduler lock" in after or "fenced out" in after
    assert "leading the schedule" not in after  # the old leader schedules nothing
    for name in ("a", "b"):
        assert cluster.stop(name) == 0
    await assert_each_fire_once(rt, 5)

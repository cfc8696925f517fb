"""Broker and database restarts during a run: nothing lost, nothing duplicated (issue 3)."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.cluster import Cluster, distributed_env, serve_target, settings_of, until
from tests.support.pg_fixtures import postgresql_url  # noqa: F401  (a fixture)
from tests.support.private_servers import private_nats, private_postgres
from vecron.auth import LOCAL_OPERATOR
from vecron.models.execution import ExecutionStatus
from vecron.runtime import Runtime

pytestmark = pytest.mark.slow


def once_jobs(count: int, at: datetime, url: str) -> list[dict[str, Any]]:
    return [
        {
            "name": f"once-{i}",
            "triggers": [{"type": "once", "at": at.isoformat()}],
            "retry": {"max_attempts": 20, "delay": 0.5, "factor": 1.5},
            "steps": [{"id": "ping", "type": "http", "url": f"{url}/slow?ms=20"}],
        }
        for i in range(count)
    ]


async def settle(rt: Runtime, count: int, timeout: float) -> list[Any]:
    async def all_succeeded() -> Any:
        done = await rt.store.list_executions(status=ExecutionStatus.SUCCEEDED, limit=count + 10)
        return done if len(done) >= count else None

    return await until(all_succeeded, timeout=timeout, every=0.5)


@pytest.fixture
def home() -> Iterator[Path]:
    # World-readable: the private PostgreSQL runs as the postgres user.
    with tempfile.TemporaryDirectory() as path:
        os.chmod(path, 0o755)
        yield Path(path)


async def test_nats_restart_during_1000_executions(postgresql_url: str, home: Path) -> None:  # noqa: F811
    with private_nats(home) as nats:
        env = distributed_env(postgresql_url, nats_port=nats.port, worker_concurrency=50)
        async with serve_target() as target, Runtime(settings_of(env)) as rt:
            at = datetime.now(UTC) + timedelta(seconds=4)
            await rt.jobs.save_many(
                LOCAL_OPERATOR, [rt.jobs.parse(d) for d in once_jobs(1000, at, target.url)]
            )
            cluster = Cluster(home, env)
            try:
                cluster.start("scheduler", "scheduler")
                cluster.start("worker", "worker")
                await until(lambda: sum(target.keys.values()) >= 150, timeout=60)
                nats.kill()
                await asyncio.sleep(2)
                nats.start()
                done = await settle(rt, 1000, timeout=120)
            finally:
                cluster.stop_all()
            executions = await rt.store.list_executions(limit=5000)
    assert len(executions) == 1000  # one per fire time: none lost, none created twice
    assert len(done) == 1000
    assert len(target.keys) == 1000
    assert Counter(target.keys.values()) == Counter({1: 1000})  # no request sent twice


async def test_postgres_restart_during_a_run(home: Path) -> None:
    with private_postgres(home) as pg:
        env = distributed_env(pg.url, worker_concurrency=50)
        async with serve_target() as target:
            async with Runtime(settings_of(env)) as rt:
                at = datetime.now(UTC) + timedelta(seconds=4)
                await rt.jobs.save_many(
                    LOCAL_OPERATOR, [rt.jobs.parse(d) for d in once_jobs(300, at, target.url)]
                )
            cluster = Cluster(home, env)
            try:
                cluster.start("scheduler", "scheduler")
                cluster.start("worker", "worker")
                await until(lambda: sum(target.keys.values()) >= 50, timeout=60)
                pg.stop("immediate")
                await asyncio.sleep(3)
                pg.start()
                async with Runtime(settings_of(env)) as rt:
                    done = await settle(rt, 300, timeout=120)
                    executions = await rt.store.list_executions(limit=5000)
                for name in ("scheduler", "worker"):
                    assert cluster.procs[name].poll() is None, (
                        f"{name} died: {cluster.log(name)[-2000:]}"
                    )
            finally:
                cluster.stop_all()
    assert len(executions) == 300
    assert len(done) == 300
    assert len(target.keys) == 300

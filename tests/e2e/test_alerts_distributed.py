"""Issue 13, acceptance 5 in distributed mode: PostgreSQL, NATS and Redis, one
``vecron scheduler`` and two ``vecron worker`` processes finishing executions of the same
job side by side. The failure streak lives in the store, so however the executions are
shared between the workers, the job is alerted once when it starts failing and once when
it recovers — never twice."""

from __future__ import annotations

import json
import signal
from collections.abc import AsyncIterator

import pytest

from tests.support.alert_receivers import (  # noqa: F401  (receiver: a fixture)
    StatusTarget,
    WebhookReceiver,
    receiver,
    status_target,
)
from tests.support.cluster import Cluster, distributed_env, settings_of, unique, until
from tests.support.pg_fixtures import postgresql_url  # noqa: F401  (a fixture)
from vecron.auth import LOCAL_OPERATOR
from vecron.models.execution import ExecutionStatus
from vecron.runtime import Runtime

pytestmark = pytest.mark.slow


@pytest.fixture
async def target() -> AsyncIterator[StatusTarget]:
    # Slow answers: both workers hold executions of the job at once.
    async with status_target(delay=0.3) as found:
        yield found


@pytest.fixture
async def env(postgresql_url: str, receiver: WebhookReceiver) -> dict[str, str]:  # noqa: F811
    alerts = {
        "notifiers": {"hook": receiver.notifier()},
        "notify": ["hook"],
        "after_failures": 3,
    }
    return distributed_env(
        postgresql_url, alerts=json.dumps(alerts), breaker_threshold=1000, shutdown_grace=10
    )


@pytest.fixture
async def observer(env: dict[str, str]) -> AsyncIterator[Runtime]:
    # The test's own runtime saves the job and reads the store; it sends no alert.
    own = {k: v for k, v in env.items() if k != "VECRON_ALERTS"}
    async with Runtime(settings_of(own)) as runtime:
        yield runtime


async def test_two_workers_alert_a_failing_job_once_and_its_recovery_once(
    cluster: Cluster,
    observer: Runtime,
    target: StatusTarget,
    receiver: WebhookReceiver,  # noqa: F811
) -> None:
    name = unique("flaky-")
    cluster.start("scheduler", "scheduler")
    cluster.start("w1", "worker")
    cluster.start("w2", "worker")
    saved = await observer.jobs.save(
        LOCAL_OPERATOR,
        observer.jobs.parse(
            {
                "name": name,
                "triggers": [{"type": "fixed_rate", "period": 0.15}],
                "retry": {"max_attempts": 1},
                "steps": [{"id": "call", "type": "http", "url": f"{target.url}/status"}],
            }
        ),
    )
    job_id = saved.job.id

    async def ended(status: ExecutionStatus) -> list[str]:
        found = await observer.store.list_executions(job_id=job_id, status=status, limit=1000)
        return [e.lease_owner or "" for e in found]

    # Failures from both workers, well past the third.
    await until(lambda: receiver.kinds() == ["failing"], timeout=60)
    await until(
        lambda: _both_and_at_least(ended(ExecutionStatus.FAILED), 8),
        timeout=60,
    )
    target.status = 200
    await until(lambda: "recovered" in receiver.kinds(), timeout=60)
    await until(lambda: _both_and_at_least(ended(ExecutionStatus.SUCCEEDED), 6), timeout=60)
    await observer.jobs.set_enabled(LOCAL_OPERATOR, name, False)

    async def settled() -> bool:
        active = await observer.store.list_executions(job_id=job_id, limit=1000)
        return all(e.status.finished for e in active)

    await until(settled, timeout=60)
    # A stopping worker sends what it still has to send before it exits.
    for worker in ("w1", "w2"):
        cluster.signal(worker, signal.SIGTERM)
        assert cluster.stop(worker) == 0

    failed, succeeded = await ended(ExecutionStatus.FAILED), await ended(ExecutionStatus.SUCCEEDED)
    assert len(set(failed)) == 2 and len(set(succeeded)) == 2, "both workers finished some"
    assert receiver.kinds() == ["failing", "recovered"], receiver.kinds()
    assert receiver.verified[0]["streak"] == 3
    assert receiver.verified[0]["job_name"] == name
    assert receiver.refused == 0 and len(set(receiver.ids)) == 2


async def _both_and_at_least(owners_of: object, count: int) -> bool:
    owners: list[str] = await owners_of  # type: ignore[misc]
    return len(owners) >= count and len(set(owners)) == 2

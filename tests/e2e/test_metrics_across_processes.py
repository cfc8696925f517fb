"""Issue 13: `vecron scheduler` and `vecron worker`, processes of their own on real
PostgreSQL, NATS and Redis, each serve ``/metrics`` on their port: each counts its own
work, and both report the store's gauges alike."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from cryptography.fernet import Fernet
from prometheus_client.parser import text_string_to_metric_families

from tests.support.cluster import Cluster, distributed_env, settings_of, unique, until
from tests.support.pg_fixtures import postgresql_url  # noqa: F401  (a fixture)
from tests.support.web import serve
from vecron.auth import LOCAL_OPERATOR
from vecron.models.execution import ExecutionStatus
from vecron.runtime import Runtime

pytestmark = pytest.mark.slow

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
async def env(postgresql_url: str) -> dict[str, str]:  # noqa: F811
    return distributed_env(postgresql_url, secret_keys=Fernet.generate_key().decode())


@pytest.fixture
async def target() -> AsyncIterator[str]:
    async def ok(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/", ok)
    async with serve(app) as url:
        yield url


def port_of(cluster: Cluster, name: str) -> int | None:
    found = re.search(r'"url": "http://127\.0\.0\.1:(\d+)/"', cluster.log(name))
    return int(found.group(1)) if found else None


async def scrape(port: int) -> Samples:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/metrics") as answer,
    ):
        assert answer.status == 200
        text = await answer.text()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


async def test_each_process_serves_its_own_counts_and_the_stores_gauges(
    cluster: Cluster, env: dict[str, str], target: str
) -> None:
    name = unique("ping-")
    cluster.start("scheduler", "scheduler")
    cluster.start("worker", "worker")
    scheduler = await until(lambda: port_of(cluster, "scheduler"))
    worker = await until(lambda: port_of(cluster, "worker"))
    async with Runtime(settings_of(env)) as rt:
        document = {"name": name, "steps": [{"id": "get", "type": "http", "url": f"{target}/"}]}
        await rt.jobs.save(LOCAL_OPERATOR, rt.jobs.parse(document))
        fired = await rt.triggers.fire(LOCAL_OPERATOR, name, by="test", kind="manual")
        done = await rt.executions.wait(LOCAL_OPERATOR, fired.execution.id, timeout=30)
        assert done.status is ExecutionStatus.SUCCEEDED

    # The worker counts what it ran; the scheduler ran nothing and leads.
    at_worker = await scrape(worker)
    at_scheduler = await scrape(scheduler)
    assert value(at_worker, "job_success_total", job_name=name) == 1
    assert value(at_worker, "job_duration_seconds_count", job_name=name) == 1
    step = {"step_type": "http", "status": "succeeded"}
    assert value(at_worker, "step_duration_seconds_count", **step) == 1
    assert value(at_scheduler, "job_success_total", job_name=name) is None
    assert value(at_scheduler, "scheduler_leader") == 1
    assert (value(at_scheduler, "scheduler_fencing_epoch") or 0) >= 1
    assert value(at_worker, "scheduler_leader") == 0  # a worker's scheduler never runs
    # The store's gauges: one truth, whichever process is asked.
    for gauge in ("job_queue_size", "outbox_size", "active_executions", "dead_letter_size"):
        assert value(at_worker, gauge) == value(at_scheduler, gauge), gauge
    assert value(at_worker, "database_up") == value(at_scheduler, "database_up") == 1

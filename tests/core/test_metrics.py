"""Issue 13, acceptance 1: ``GET /metrics`` scraped before and after a run of jobs that
succeed, fail, retry, dead-letter, are skipped by overlap and missed by misfire — every
metric moves by exactly what happened, and the exposition parses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pluggy
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from tests.support.engine import running
from tests.support.web import serve
from vecron.auth import LOCAL_OPERATOR
from vecron.health import serve_health
from vecron.metrics import BacklogCollector, Metrics
from vecron.runtime import Runtime
from vecron.scheduling.scheduler import Scheduler
from vecron.settings import Settings

#: A sample: its name and its labels.
Key = tuple[str, frozenset[tuple[str, str]]]

RETRY = {"max_attempts": 2, "delay": 0.05, "factor": 1, "jitter": 0}


def series(name: str, **labels: str) -> Key:
    return name, frozenset(labels.items())


async def scrape(port: int) -> dict[Key, float]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        assert response.status == 200
        assert response.content_type == "text/plain"
        text = await response.text()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def moved(before: Mapping[Key, float], after: Mapping[Key, float]) -> dict[Key, float]:
    """What changed, ``_created`` timestamps aside."""
    return {
        key: after[key] - before.get(key, 0.0)
        for key in after
        if not key[0].endswith("_created") and after[key] != before.get(key, 0.0)
    }


@pytest.fixture
async def failing_target() -> AsyncIterator[str]:
    async def down(request: web.Request) -> web.Response:
        return web.Response(status=503, text="down")

    app = web.Application()
    app.router.add_get("/", down)
    async with serve(app) as base:
        yield base


def settings_in(home: Path, **more: Any) -> Settings:
    given: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{home}/v.db",
        "storage_url": f"file://{home}/storage",
        "port": 0,
    }
    return Settings(**(given | more))


def monthly(name: str, steps: list[dict[str, Any]], **policy: Any) -> dict[str, Any]:
    return {
        "name": name,
        "timezone": "UTC",
        "triggers": [{"type": "cron", "expression": "0 0 0 1 * ?"}],
        "steps": steps,
        "policy": {"misfire_grace": 1, **policy},
    }


def record(**config: Any) -> list[dict[str, Any]]:
    return [{"id": "a", "type": "record", **config}]


async def stale(rt: Runtime, document: dict[str, Any], months_ago: int) -> str:
    """Save a job whose next fire was the first of the month ``months_ago`` months back,
    as after a long outage; its fire times since then are all late."""
    now = datetime.now(UTC)
    year, month = now.year, now.month - months_ago
    while month < 1:
        year, month = year - 1, month + 12
    first = datetime(year, month, 1, tzinfo=UTC)
    saved = await rt.store.save_job(
        rt.jobs.parse(document), next_fire_at=first, now=first - timedelta(days=1)
    )
    return saved.job.id


async def settled(rt: Runtime, job_ids: list[str], count: int, timeout: float = 30) -> None:
    """Wait until the jobs' executions number ``count`` and all have ended."""
    async with asyncio.timeout(timeout):
        while True:
            found = [e for j in job_ids for e in await rt.store.list_executions(job_id=j)]
            if len(found) == count and all(e.status.finished for e in found):
                return
            await asyncio.sleep(0.05)


async def test_every_metric_moves_by_what_happened(
    tmp_path: Path, test_pm: pluggy.PluginManager, failing_target: str
) -> None:
    settings = settings_in(tmp_path, breaker_threshold=2, breaker_open_seconds=60)
    async with Runtime(settings, pm=test_pm) as rt:
        for name, steps in {
            "ok": record(),
            "flaky": record(fail_times=1),
            "broken": record(final=True),
            "exhausted": record(fail_times=5),
            "target": [{"id": "call", "type": "http", "url": f"{failing_target}/"}],
        }.items():
            await rt.jobs.save(
                LOCAL_OPERATOR, rt.jobs.parse({"name": name, "retry": RETRY, "steps": steps})
            )
        # Three late fires each: the misfire policy misses all of one job's, runs one of
        # another's and coalesces the rest, runs all of a third whose overlap rule skips two.
        scheduled = [
            await stale(rt, monthly("lost", record(), misfire="skip"), 2),
            await stale(rt, monthly("once", record(), misfire="run_once"), 2),
            await stale(
                rt,
                monthly("exclusive", record(sleep=0.5), misfire="run_all", overlap="skip"),
                2,
            ),
        ]
        assert rt.metrics.backlog is not None
        rt.metrics.backlog.max_age = 0  # the store's gauges as they are at each scrape
        async with serve_health(rt.readiness_checks(), "127.0.0.1", 0, rt.metrics) as port:
            before = await scrape(port)
            async with running(rt):
                manual = [
                    (
                        await rt.triggers.fire(LOCAL_OPERATOR, name, by="test", kind="manual")
                    ).execution.id
                    for name in ("ok", "ok", "flaky", "broken", "exhausted", "target")
                ]
                for execution_id in manual:
                    await rt.executions.wait(LOCAL_OPERATOR, execution_id, timeout=30)
                await settled(rt, scheduled, count=4)  # lost: none; once: 1; exclusive: 3
                after = await scrape(port)

    per_job = {
        "job_success_total": {"ok": 2, "flaky": 1, "once": 1, "exclusive": 1},
        "job_failed_total": {"broken": 1, "exhausted": 1, "target": 1},
        "job_retries_total": {"flaky": 1, "exhausted": 1, "target": 1},
        "job_dead_lettered_total": {"broken": 1, "exhausted": 1, "target": 1},
        # Durations of runs that ended: the successes and the failures above.
        "job_duration_seconds_count": {"ok": 2, "flaky": 1, "once": 1, "exclusive": 1}
        | {"broken": 1, "exhausted": 1, "target": 1},
    }
    occurrences = {
        ("lost", "missed"): 3,
        ("once", "fired"): 1,
        ("once", "coalesced"): 2,
        ("exclusive", "fired"): 3,
        ("exclusive", "skipped"): 2,
    }
    steps = {("record", "succeeded"): 5, ("record", "failed"): 4, ("http", "failed"): 2}
    expected: dict[Key, float] = {
        series(name, job_name=job): count
        for name, counts in per_job.items()
        for job, count in counts.items()
    }
    expected |= {
        series("job_occurrences_total", job_name=job, outcome=outcome): count
        for (job, outcome), count in occurrences.items()
    }
    expected |= {
        series("step_duration_seconds_count", step_type=kind, status=status): count
        for (kind, status), count in steps.items()
    }
    target = failing_target.removesuffix("/")
    expected |= {
        # The runs that started after a fire time: once's and exclusive's winner.
        series("scheduler_lateness_seconds_count"): 2,
        series("circuit_breaker_state", target=target): 2,  # open after two failures
        series("dead_letter_size"): 3,
        series("scheduler_leader_acquisitions_total"): 1,
        series("scheduler_leader"): 1,
        series("scheduler_fencing_epoch"): 1,  # the first leader of a new database
    }
    changes = moved(before, after)
    # Histograms' sums and buckets move with their counts; the rest is exactly as listed.
    counts = {k: v for k, v in changes.items() if not k[0].endswith(("_sum", "_bucket"))}
    assert counts == expected
    assert after[series("database_up")] == 1
    # A job that ran has all its series, at 0 where nothing happened: rate() sees the first.
    assert after[series("job_failed_total", job_name="ok")] == 0
    assert after[series("job_dead_lettered_total", job_name="flaky")] == 0
    for gauge in ("job_queue_size", "outbox_size", "active_executions"):
        assert before[series(gauge)] == after[series(gauge)] == 0
    # The lateness of runs two months late is counted in the top bucket only.
    assert changes[series("scheduler_lateness_seconds_bucket", le="+Inf")] == 2
    assert series("scheduler_lateness_seconds_bucket", le="300.0") not in changes
    # A bucket counts what took at most its bound: every record step ends in well under 1 s.
    assert (
        changes[
            series("step_duration_seconds_bucket", step_type="record", status="failed", le="1.0")
        ]
        == 4
    )


async def test_the_gauges_read_the_store_so_every_process_agrees(
    tmp_path: Path, test_pm: pluggy.PluginManager, store_url: str
) -> None:
    """A queued execution shows in the queue depth and outbox of a process that never saw
    it (no worker, no scheduler here): the store is asked at scrape time. SQLite and
    PostgreSQL."""
    settings = settings_in(tmp_path, database_url=store_url)
    async with Runtime(settings, pm=test_pm) as writer, Runtime(settings, pm=test_pm) as reader:
        await writer.jobs.save(LOCAL_OPERATOR, writer.jobs.parse({"name": "j", "steps": record()}))
        async with serve_health(reader.readiness_checks(), "127.0.0.1", 0, reader.metrics) as port:
            empty = await scrape(port)
            for _ in range(3):
                await writer.triggers.fire(LOCAL_OPERATOR, "j", by="test", kind="manual")
            assert reader.metrics.backlog is not None
            reader.metrics.backlog.max_age = 0  # the cache would answer for 2 s
            queued = await scrape(port)
    assert empty[series("job_queue_size")] == 0
    assert queued[series("job_queue_size")] == 3
    assert queued[series("outbox_size")] == 3  # nothing relayed them: no scheduler runs
    assert queued[series("active_executions")] == 0


async def test_a_store_that_does_not_answer_shows_as_database_down(
    tmp_path: Path, test_pm: pluggy.PluginManager
) -> None:
    settings = settings_in(tmp_path)
    async with (
        Runtime(settings, pm=test_pm) as rt,
        serve_health(rt.readiness_checks(), "127.0.0.1", 0, rt.metrics) as port,
    ):
        up = await scrape(port)
        await rt.store.close()  # the engine is gone: every query fails
        assert rt.metrics.backlog is not None
        rt.metrics.backlog.max_age = 0
        down = await scrape(port)
    assert up[series("database_up")] == 1
    assert down[series("database_up")] == 0
    assert series("job_queue_size") not in down  # not shown stale


async def test_leadership_is_counted_when_taken_and_when_lost(runtime: Runtime) -> None:
    rt = runtime
    first, second = Metrics(), Metrics()
    a = Scheduler(
        rt.store, rt.queue, rt.registry, wakeup=rt.wakeup, lock=rt.lock, metrics=first, owner="a"
    )
    b = Scheduler(
        rt.store, rt.queue, rt.registry, wakeup=rt.wakeup, lock=rt.lock, metrics=second, owner="b"
    )
    assert await a.lead()
    epoch = a.epoch
    assert not await b.lead()
    await rt.lock.release("scheduler", "a")  # a's lock ran out: b takes over
    assert await b.lead()
    assert not await a.lead()

    def value(metrics: Metrics, name: str) -> float | None:
        return metrics.registry.get_sample_value(name)

    assert value(first, "scheduler_leader_acquisitions_total") == 1
    assert value(first, "scheduler_leader_losses_total") == 1
    assert value(first, "scheduler_leader") == 0
    assert value(first, "scheduler_fencing_epoch") == 0
    assert value(second, "scheduler_leader_acquisitions_total") == 1
    assert value(second, "scheduler_leader_losses_total") == 0
    assert value(second, "scheduler_leader") == 1
    assert epoch is not None
    assert value(second, "scheduler_fencing_epoch") == b.epoch == epoch + 1


async def test_the_store_is_asked_at_most_once_per_period(runtime: Runtime) -> None:
    """Many scrapers (or processes) cost one query per ``max_age``: an answer is reused
    until then, and asked again after."""
    rt = runtime
    now = [0.0]
    backlog = BacklogCollector(rt.store, max_age=2.0, clock=lambda: now[0])
    await rt.jobs.save(LOCAL_OPERATOR, rt.jobs.parse({"name": "j", "steps": record()}))

    async def queue_size() -> float:
        await backlog.refresh()
        [family] = [f for f in backlog.collect() if f.name == "job_queue_size"]
        return family.samples[0].value

    assert await queue_size() == 0
    await rt.triggers.fire(LOCAL_OPERATOR, "j", by="test", kind="manual")
    now[0] = 1.9
    assert await queue_size() == 0  # the answer of t=0, still fresh
    now[0] = 2.0
    assert await queue_size() == 1

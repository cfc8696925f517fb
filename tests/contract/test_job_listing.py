"""Listing jobs by name with filters, their statistics and their versions, on SQLite and
PostgreSQL; the statistics are one query whose plan reads only the page's jobs through
the index of finished executions."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text

from vecron.models.execution import Execution, ExecutionStatus, Outcome
from vecron.models.job import JobRecord
from vecron.store.base import JobStats
from vecron.store.jobstats import stats_query
from vecron.store.sql import SqlStore

from .test_store import T0, definition, make_job, new_execution

SECOND = timedelta(seconds=1)


async def test_jobs_by_name_with_filters_and_a_position(store: SqlStore) -> None:
    names = ["Daily-Report", "alpha", "beta_report", "gamma", "report", "x.REPORT.y", "zeta"]
    for name in names:
        await make_job(store, name, enabled=name not in ("gamma", "report"))
    every = [j.name for j in await store.list_jobs()]
    assert sorted(every) == sorted(names)
    # Pages by name: each job once, in the order of the full listing.
    walked: list[str] = []
    after = None
    while True:
        page = await store.list_jobs(after=after, limit=2)
        walked += [j.name for j in page]
        if len(page) < 2:
            break
        after = page[-1].name
    assert walked == every
    found = [j.name for j in await store.list_jobs(search="RePoRt")]
    assert sorted(found) == ["Daily-Report", "beta_report", "report", "x.REPORT.y"]
    assert [j.name for j in await store.list_jobs(search="RePoRt", enabled=False)] == ["report"]
    assert {j.name for j in await store.list_jobs(enabled=True)} == set(names) - {
        "gamma",
        "report",
    }
    # LIKE's wildcards in a search are plain characters.
    assert [j.name for j in await store.list_jobs(search="_")] == ["beta_report"]
    assert await store.list_jobs(search="%") == []
    assert [j.name for j in await store.list_jobs(search=".", limit=1)] == ["x.REPORT.y"]


async def finish(
    store: SqlStore, job: JobRecord, status: ExecutionStatus, at: datetime
) -> Execution:
    execution, _ = await store.create_execution(new_execution(job, created_at=at - SECOND))
    [claimed] = await store.claim([execution.id], "w", lease_until=at + SECOND, now=at - SECOND)
    if status in (ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT):
        outcome = Outcome.dead_lettered(claimed, status, at, "boom")
    else:
        outcome = Outcome.finished(claimed, status, at)
    assert await store.record([], [outcome]) == [True]
    return execution


async def test_stats_count_runs_that_ended_since_a_time(store: SqlStore) -> None:
    alpha, bravo, charlie, delta = [
        await make_job(store, name) for name in ("alpha", "bravo", "charlie", "delta")
    ]
    await finish(store, alpha, ExecutionStatus.SUCCEEDED, T0 - timedelta(hours=1))  # too old
    await finish(store, alpha, ExecutionStatus.SUCCEEDED, T0 + SECOND)
    await finish(store, alpha, ExecutionStatus.FAILED, T0 + 2 * SECOND)
    await finish(store, alpha, ExecutionStatus.CANCELLED, T0 + 3 * SECOND)  # did not run
    await finish(store, alpha, ExecutionStatus.SKIPPED, T0 + 4 * SECOND)  # the latest
    await store.create_execution(new_execution(bravo))  # queued: nothing finished
    await finish(store, charlie, ExecutionStatus.TIMED_OUT, T0 + 5 * SECOND)
    await finish(store, delta, ExecutionStatus.SUCCEEDED, T0 - SECOND)

    stats = await store.job_stats([alpha.id, bravo.id, charlie.id, delta.id, "ghost"], since=T0)
    assert stats == {
        alpha.id: JobStats(last_status=ExecutionStatus.SKIPPED, ran=2, succeeded=1),
        bravo.id: JobStats(last_status=None, ran=0, succeeded=0),
        charlie.id: JobStats(last_status=ExecutionStatus.TIMED_OUT, ran=1, succeeded=0),
        delta.id: JobStats(last_status=ExecutionStatus.SUCCEEDED, ran=0, succeeded=0),
    }
    assert [stats[j.id].success_rate for j in (alpha, bravo, charlie, delta)] == [
        0.5,
        None,
        0.0,
        None,
    ]
    assert await store.job_stats([], since=T0) == {}
    # A rerun takes its execution out of the finished ones until it ends again.
    [dead] = await store.dead_letters(job_id=charlie.id)
    await store.rerun(dead.id, extra_attempts=1, now=T0 + 6 * SECOND)
    again = await store.job_stats([charlie.id], since=T0)
    assert again[charlie.id] == JobStats(last_status=None, ran=0, succeeded=0)


async def test_stats_read_the_finished_index_of_the_page_jobs_only(store: SqlStore) -> None:
    query = stats_query().params(ids=["a" * 36, "b" * 36], since=T0)
    async with store.connect() as conn:
        sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        if conn.dialect.name == "sqlite":
            rows = await conn.execute(text(f"EXPLAIN QUERY PLAN {sql}"))
            plan = " | ".join(row[-1] for row in rows)
            assert "USING COVERING INDEX ix_executions_job_finished (job_id=?" in plan, plan
            assert "SCAN executions" not in plan, plan  # never the whole table
        else:
            await conn.execute(text("SET LOCAL enable_seqscan = off"))
            await conn.execute(text("SET LOCAL enable_bitmapscan = off"))
            plan = " | ".join(row[0] for row in await conn.execute(text(f"EXPLAIN {sql}")))
            assert "using ix_executions_job_finished on executions" in plan, plan
            assert "Seq Scan on executions" not in plan, plan


async def test_versions_are_kept_oldest_first(store: SqlStore) -> None:
    job = await make_job(store, "report")
    await store.save_job(
        definition("report", url="http://127.0.0.1/b"), next_fire_at=T0, now=T0 + SECOND
    )
    await store.save_job(
        definition("report", enabled=False), next_fire_at=None, now=T0 + 2 * SECOND
    )
    versions = await store.job_versions(job.id)
    assert [(v.version, v.saved_at, v.definition.enabled) for v in versions] == [
        (1, T0, True),
        (2, T0 + SECOND, True),
        (3, T0 + 2 * SECOND, False),
    ]
    assert versions[1].definition.steps[0].config["url"] == "http://127.0.0.1/b"
    assert await store.job_versions("ghost") == []
    await store.delete_job(job.id)
    assert await store.job_versions(job.id) == []

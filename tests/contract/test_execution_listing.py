"""Listing executions and dead letters a page at a time, on SQLite and PostgreSQL.

Pages come by keyset (``created_at, id``), so rows of one instant are told apart by id:
the data here puts several executions at each instant, of two jobs, three triggers and
three statuses. Every filter and page size must give every matching execution exactly
once, newest first — also while new executions arrive between pages. Each filter the
API offers must be an index range scan with no sort, whatever the table holds: the
query plans are checked, with the planner forbidden anything else where it could
choose (PostgreSQL), so a missing index fails here and not on a million rows.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Select, text

from vecron.auth import LOCAL_OPERATOR
from vecron.errors import ValidationError
from vecron.models.execution import Execution, ExecutionStatus, Outcome
from vecron.models.job import JobRecord
from vecron.services.executions import ExecutionService
from vecron.services.paging import Listing
from vecron.store import history
from vecron.store.sql import SqlStore

from .test_store import T0, make_job, new_execution

FINISHED_AT = T0 + timedelta(minutes=5)
MS = timedelta(milliseconds=1)
TRIGGERS = ("cron", "manual", "webhook")


async def populate(store: SqlStore) -> tuple[list[JobRecord], list[Execution]]:
    """Two jobs; at each of 4 instants 6 executions (both jobs, 3 triggers each); then some
    succeed and some are dead-lettered (failed for good)."""
    jobs = [await make_job(store, "alpha"), await make_job(store, "bravo")]
    made: list[Execution] = []
    for step in range(4):
        at = T0 + timedelta(seconds=step)
        for job, trigger in itertools.product(jobs, TRIGGERS):
            execution, created = await store.create_execution(
                new_execution(job, created_at=at, not_before=at, trigger=trigger)
            )
            assert created
            made.append(execution)
    finish = made[::3] + made[1::5]
    claimed = await store.claim(
        [e.id for e in finish], "w", lease_until=T0 + timedelta(hours=1), now=T0
    )
    outcomes = [
        Outcome.succeeded(e, FINISHED_AT, started_at=T0)
        if n % 2
        else Outcome.dead_lettered(e, ExecutionStatus.FAILED, FINISHED_AT + n * MS, "boom")
        for n, e in enumerate(claimed)
    ]
    assert all(await store.record([], outcomes))
    return jobs, made


def newest_first(executions: list[Execution], keep: Callable[[Execution], bool]) -> list[str]:
    ordered = sorted(executions, key=lambda e: (e.created_at, e.id), reverse=True)
    return [e.id for e in ordered if keep(e)]


def matcher(
    job: JobRecord | None,
    status: ExecutionStatus | None,
    trigger: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Callable[[Execution], bool]:
    def keep(e: Execution) -> bool:
        return (
            (job is None or e.job_id == job.id)
            and (status is None or e.status is status)
            and (trigger is None or e.trigger == trigger)
            and (since is None or e.created_at >= since)
            and (until is None or e.created_at < until)
        )

    return keep


async def walk(service: ExecutionService, size: int, **filters: Any) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(200):
        page = await service.list_executions(LOCAL_OPERATOR, cursor=cursor, limit=size, **filters)
        assert len(page.items) <= size
        seen += [e.id for e in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return seen
        assert page.items, "a page with a next cursor has items"
    raise AssertionError("the pages never ended")


async def test_every_filter_and_page_size_gives_each_execution_once(store: SqlStore) -> None:
    jobs, _ = await populate(store)
    everything = await store.list_executions(limit=1000)
    service = ExecutionService(store)
    statuses = [None, ExecutionStatus.QUEUED, ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED]
    windows: list[tuple[datetime | None, datetime | None]] = [
        (None, None),
        (T0 + timedelta(seconds=1), None),
        (None, T0 + timedelta(seconds=3)),
        (T0 + timedelta(seconds=1), T0 + timedelta(seconds=2)),
    ]
    checked = 0
    for job, status, trigger, (since, until) in itertools.product(
        [None, *jobs], statuses, [None, "manual"], windows
    ):
        keep = matcher(job, status, trigger, since, until)
        expected = newest_first(everything, keep)
        filters = {
            "job": None if job is None else job.name,
            "status": status,
            "trigger": trigger,
            "since": since,
            "until": until,
        }
        for size in (1, 4, 500):
            assert await walk(service, size, **filters) == expected, (filters, size)
        checked += bool(expected)
    assert checked > 50  # most combinations match something: the equality says something


async def test_executions_created_between_pages_neither_repeat_nor_skip(store: SqlStore) -> None:
    jobs, made = await populate(store)
    service = ExecutionService(store)
    first = await service.list_executions(LOCAL_OPERATOR, limit=5)
    seen = [e.id for e in first.items]
    # New ones, some at the very instant of the newest shown, some later: both sort
    # before the cursor (newest first), so the walk goes on as if they were not there.
    for job in jobs:
        for at in (max(e.created_at for e in made), T0 + timedelta(hours=1)):
            await store.create_execution(new_execution(job, created_at=at, not_before=at))
    cursor = first.next_cursor
    while cursor is not None:
        page = await service.list_executions(LOCAL_OPERATOR, limit=5, cursor=cursor)
        seen += [e.id for e in page.items]
        cursor = page.next_cursor
    assert seen == newest_first(made, lambda e: True)


async def test_dead_letters_are_paged_last_dead_lettered_first(store: SqlStore) -> None:
    jobs, _ = await populate(store)
    everything = await store.list_executions(limit=1000)
    dead = [e for e in everything if e.dead_lettered_at is not None]
    assert len(dead) >= 4
    service = ExecutionService(store)
    for job, size in itertools.product([None, *jobs], (1, 3, 500)):
        expected = [
            e.id
            for e in sorted(dead, key=lambda e: (e.dead_lettered_at, e.id), reverse=True)
            if job is None or e.job_id == job.id
        ]
        seen: list[str] = []
        cursor = None
        while True:
            page = await service.dead_letters(
                LOCAL_OPERATOR, job=None if job is None else job.id, cursor=cursor, limit=size
            )
            seen += [e.id for e in page.items]
            assert all(e.status is ExecutionStatus.FAILED for e in page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == expected
    # A rerun takes one out of the dead letters.
    await service.rerun(LOCAL_OPERATOR, dead[0].id)
    left = await service.dead_letters(LOCAL_OPERATOR, limit=500)
    assert dead[0].id not in [e.id for e in left.items]
    assert len(left.items) == len(dead) - 1


async def test_a_cursor_serves_only_its_own_listing_and_filters(store: SqlStore) -> None:
    await populate(store)
    service = ExecutionService(store)
    page = await service.list_executions(LOCAL_OPERATOR, job="alpha", limit=2)
    dead = await service.dead_letters(LOCAL_OPERATOR, limit=1)
    assert page.next_cursor is not None and dead.next_cursor is not None
    refused = [
        service.list_executions(LOCAL_OPERATOR, job="bravo", cursor=page.next_cursor),
        service.list_executions(LOCAL_OPERATOR, cursor=page.next_cursor),
        service.list_executions(LOCAL_OPERATOR, cursor=dead.next_cursor),
        service.dead_letters(LOCAL_OPERATOR, cursor=page.next_cursor),
        service.list_executions(LOCAL_OPERATOR, cursor="not a cursor"),
        service.list_executions(
            LOCAL_OPERATOR, cursor=Listing("executions", {}).cursor(["yesterday", "x"])
        ),
    ]
    for call in refused:
        with pytest.raises(ValidationError) as bad:
            await call
        assert (bad.value.field, bad.value.problems[0].code) == ("cursor", "invalid-cursor")
    for limit in (0, -1, 501):
        with pytest.raises(ValidationError) as bad:
            await service.list_executions(LOCAL_OPERATOR, limit=limit)
        assert bad.value.field == "limit"
    # The same filters, however spelled (a job by name or id, a status as text or as
    # the enum), take it.
    alpha = await store.get_job("alpha")
    by_id = await service.list_executions(
        LOCAL_OPERATOR, job=alpha.id, cursor=page.next_cursor, limit=2
    )
    assert by_id.items and {e.job_name for e in by_id.items} == {"alpha"}
    assert not {e.id for e in by_id.items} & {e.id for e in page.items}
    queued = await service.list_executions(LOCAL_OPERATOR, status="queued", limit=1)
    again = await service.list_executions(
        LOCAL_OPERATOR, status=ExecutionStatus.QUEUED, cursor=queued.next_cursor, limit=1
    )
    assert again.items and again.items[0].id != queued.items[0].id


# -- query plans ------------------------------------------------------------------------


def _plans() -> dict[str, tuple[Select[Any], str]]:
    """Each listing's query (a later page: with a position) and the index it must use."""
    at = (T0, "0" * 36)
    failed = ExecutionStatus.FAILED
    executions = history.executions_query
    dead_letters = history.dead_letters_query
    return {
        "no filter": (
            executions(job_id=None, status=None, limit=51, before=at),
            "ix_executions_newest",
        ),
        "job": (
            executions(job_id="j", status=None, limit=51, before=at),
            "ix_executions_job_newest",
        ),
        "status": (
            executions(job_id=None, status=failed, limit=51, before=at),
            "ix_executions_status_newest",
        ),
        "job and status": (
            executions(job_id="j", status=failed, limit=51, before=at),
            "ix_executions_job_status_newest",
        ),
        "dead letters": (
            dead_letters(job_id=None, before=at, limit=51),
            "ix_executions_dead_letters",
        ),
        "dead letters of a job": (
            dead_letters(job_id="j", before=at, limit=51),
            "ix_executions_job_dead_letters",
        ),
    }


@pytest.mark.parametrize("listing", list(_plans()))
async def test_each_listing_is_an_index_range_scan_without_a_sort(
    store: SqlStore, listing: str
) -> None:
    query, index = _plans()[listing]
    async with store.connect() as conn:
        sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        if conn.dialect.name == "sqlite":
            plan = " | ".join(
                row[-1] for row in await conn.execute(text(f"EXPLAIN QUERY PLAN {sql}"))
            )
            assert f"USING INDEX {index} (" in plan, plan  # a SEARCH bounded by the index
            assert "TEMP B-TREE" not in plan, plan  # no sort
        else:
            # Forbid what the planner may prefer on a small table; if the index could
            # not give the order and the bound, a Seq Scan or a Sort would still show.
            await conn.execute(text("SET LOCAL enable_seqscan = off"))
            await conn.execute(text("SET LOCAL enable_sort = off"))
            await conn.execute(text("SET LOCAL enable_bitmapscan = off"))
            plan = " | ".join(row[0] for row in await conn.execute(text(f"EXPLAIN {sql}")))
            assert f"Index Scan Backward using {index} on executions" in plan, plan
            assert "Index Cond" in plan and "ROW(" in plan, plan  # the position bounds it
            assert "Sort" not in plan and "Seq Scan" not in plan, plan

"""The store contract: every backend behaves the same (SQLite file, PostgreSQL).

Each test gets a fresh database (see ``conftest.py``). Times are fixed aware-UTC
values with microseconds so that exact round trips are part of every check.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from vecron.errors import ConflictError, NotFoundError, ValidationError
from vecron.ids import new_id
from vecron.models.definition import (
    NAME_PATTERN,
    STEP_ID_PATTERN,
    JobDefinition,
    RetryPolicy,
    StepSpec,
    TriggerSpec,
)
from vecron.models.execution import (
    Execution,
    ExecutionStatus,
    NewExecution,
    OccurrenceStatus,
    Outcome,
    StepResult,
    StepStatus,
)
from vecron.models.job import JobRecord
from vecron.store import JobFires, NewOccurrence
from vecron.store.base import NewVariable
from vecron.store.sql import SqlStore, due_jobs_query

from .conftest import StoreFactory

T0 = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
LEASE = timedelta(seconds=30)
MICROSECOND = timedelta(microseconds=1)


def definition(
    name: str = "report", *, enabled: bool = True, url: str = "http://127.0.0.1/a"
) -> JobDefinition:
    return JobDefinition(
        name=name,
        enabled=enabled,
        timezone="Asia/Ho_Chi_Minh",
        triggers=[TriggerSpec(type="cron", config={"expression": "0 */5 * * * ?"})],
        steps=[StepSpec(id="call", type="http", config={"url": url, "method": "GET"})],
    )


async def make_job(
    store: SqlStore, name: str = "report", *, next_fire_at: datetime | None = T0, **kwargs: Any
) -> JobRecord:
    saved = await store.save_job(definition(name, **kwargs), next_fire_at=next_fire_at, now=T0)
    return saved.job


def new_execution(
    job: JobRecord,
    key: str | None = None,
    *,
    not_before: datetime = T0,
    created_at: datetime = T0,
    scheduled_at: datetime | None = None,
    trigger: str = "manual",
) -> NewExecution:
    return NewExecution(
        id=new_id(),
        job_id=job.id,
        job_name=job.name,
        job_version=job.version,
        idempotency_key=key or new_id(),
        trigger=trigger,
        triggered_by="alice" if trigger == "manual" else None,
        scheduled_at=scheduled_at,
        not_before=not_before,
        max_attempts=3,
        created_at=created_at,
        params={"region": "vn", "limit": 10},
    )


def fire(
    job: JobRecord,
    fire_time: datetime,
    *,
    expected: datetime | None = None,
    following: datetime | None = None,
) -> JobFires:
    """The decision a scheduler makes when ``job`` is due at ``fire_time``."""
    execution = new_execution(
        job,
        f"{job.id}:{fire_time.isoformat()}",
        not_before=fire_time,
        created_at=fire_time,
        scheduled_at=fire_time,
        trigger="cron",
    )
    return JobFires(
        job_id=job.id,
        expected_next_fire_at=expected or fire_time,
        new_next_fire_at=following,
        executions=[execution],
        occurrences=[
            NewOccurrence(
                job_id=job.id,
                fire_time=fire_time,
                status=OccurrenceStatus.FIRED,
                execution_id=execution.id,
            )
        ],
    )


async def queued(store: SqlStore, job: JobRecord, count: int) -> list[Execution]:
    created = []
    for number in range(count):
        execution, _ = await store.create_execution(
            new_execution(job, created_at=T0 + timedelta(seconds=number))
        )
        created.append(execution)
    return created


async def claim_one(store: SqlStore, execution: Execution, owner: str = "w1") -> Execution:
    [claimed] = await store.claim([execution.id], owner, lease_until=T0 + LEASE, now=T0)
    return claimed


def succeeded(execution: Execution, owner: str = "w1", at: datetime = T0) -> Outcome:
    return Outcome(
        execution_id=execution.id,
        owner=owner,
        attempt=execution.attempt,
        status=ExecutionStatus.SUCCEEDED,
        at=at,
    )


# -- schema -------------------------------------------------------------------------
async def test_upgrade_is_idempotent_and_starts_at_revision_zero(store: SqlStore) -> None:
    await store.upgrade()
    assert await store.revision() == 0
    assert await store.list_jobs() == []
    assert await store.next_wakeup() is None


async def test_concurrent_upgrades_of_a_new_database_migrate_once(store_url: str) -> None:
    stores = [SqlStore(store_url) for _ in range(3)]
    try:
        for store in stores:
            await store.start()
        await asyncio.gather(*(store.upgrade() for store in stores))
        await make_job(stores[0])
        assert [job.name for job in await stores[2].list_jobs()] == ["report"]
        assert await stores[1].revision() == 1
    finally:
        for store in stores:
            await store.close()


async def test_due_query_is_a_range_scan_of_the_partial_index(
    store: SqlStore, store_url: str
) -> None:
    engine = create_async_engine(store_url, poolclass=NullPool)
    try:
        query = due_jobs_query(T0, 10).compile(
            engine.sync_engine, compile_kwargs={"literal_binds": True}
        )
        async with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                plan = " ".join(
                    str(row[-1])
                    for row in await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {query}")
                )
                assert "ix_jobs_due" in plan
                assert "TEMP B-TREE" not in plan  # no sort: the index gives the order
            else:
                # The test table is tiny; forbid the sequential scan to see whether the
                # partial index can serve the query at all.
                await conn.exec_driver_sql("SET enable_seqscan = off")
                await conn.exec_driver_sql("SET enable_bitmapscan = off")
                plan = " ".join(
                    str(row[0]) for row in await conn.exec_driver_sql(f"EXPLAIN {query}")
                )
                assert "ix_jobs_due" in plan
                assert "Sort" not in plan
    finally:
        await engine.dispose()


# -- jobs -----------------------------------------------------------------------------
async def test_save_job_creates_version_one(store: SqlStore) -> None:
    saved = await store.save_job(definition(), next_fire_at=T0, now=T0)
    assert saved.change == "created"
    assert saved.previous is None
    job = saved.job
    assert (job.name, job.version, job.enabled) == ("report", 1, True)
    assert job.definition == definition()
    assert (job.created_at, job.updated_at, job.next_fire_at) == (T0, T0, T0)
    assert job.last_finished_at is None
    assert await store.job_definition(job.id, 1) == definition()
    assert await store.revision() == 1


async def test_save_identical_definition_changes_nothing(store: SqlStore) -> None:
    first = await make_job(store)
    later = T0 + timedelta(hours=1)
    again = await store.save_job(definition(), next_fire_at=later, now=later)
    assert again.change == "unchanged"
    assert again.job == first
    assert await store.revision() == 1


async def test_save_changed_definition_stores_a_new_version(store: SqlStore) -> None:
    first = await make_job(store)
    later = T0 + timedelta(hours=1)
    changed = definition(url="http://127.0.0.1/b", enabled=False)
    saved = await store.save_job(changed, next_fire_at=None, now=later)
    assert saved.change == "updated"
    assert saved.previous == definition()
    job = saved.job
    assert (job.id, job.version, job.enabled, job.next_fire_at) == (first.id, 2, False, None)
    assert (job.created_at, job.updated_at) == (T0, later)
    assert await store.job_definition(job.id, 1) == definition()
    assert await store.job_definition(job.id, 2) == changed
    assert await store.get_job(job.id) == job
    assert await store.revision() == 2


async def test_concurrent_saves_of_one_new_job_make_one_job(
    store: SqlStore, store_factory: StoreFactory
) -> None:
    other = await store_factory()
    results = await asyncio.gather(
        *(s.save_job(definition(), next_fire_at=T0, now=T0) for s in (store, other, store, other))
    )
    assert sorted(result.change for result in results) == [
        "created",
        "unchanged",
        "unchanged",
        "unchanged",
    ]
    assert len(await store.list_jobs()) == 1


async def test_get_job_by_id_or_name(store: SqlStore) -> None:
    job = await make_job(store)
    assert await store.get_job(job.id) == job
    assert await store.get_job("report") == job
    with pytest.raises(NotFoundError):
        await store.get_job("nope")


async def test_list_jobs_is_ordered_by_name(store: SqlStore) -> None:
    for name in ("charlie", "alpha", "bravo"):
        await make_job(store, name)
    assert [job.name for job in await store.list_jobs()] == ["alpha", "bravo", "charlie"]


async def test_job_definition_of_unknown_version_is_not_found(store: SqlStore) -> None:
    job = await make_job(store)
    with pytest.raises(NotFoundError):
        await store.job_definition(job.id, 2)


async def test_delete_job_cancels_queued_and_keeps_history(store: SqlStore) -> None:
    job = await make_job(store)
    waiting, running = await queued(store, job, 2)
    await claim_one(store, running)
    revision = await store.revision()

    await store.delete_job(job.id)

    with pytest.raises(NotFoundError):
        await store.get_job(job.id)
    with pytest.raises(NotFoundError):
        await store.job_definition(job.id, 1)
    cancelled = await store.get_execution(waiting.id)
    assert cancelled.status is ExecutionStatus.CANCELLED
    assert cancelled.finished_at is not None
    assert (await store.get_execution(running.id)).status is ExecutionStatus.RUNNING
    assert await store.revision() == revision + 1
    with pytest.raises(NotFoundError):
        await store.delete_job(job.id)


async def test_set_enabled_toggles_without_a_new_version(store: SqlStore) -> None:
    job = await make_job(store)
    fresh, retrying = await queued(store, job, 2)
    claimed = await claim_one(store, retrying)
    retry = Outcome(
        execution_id=claimed.id,
        owner="w1",
        attempt=1,
        status=ExecutionStatus.QUEUED,
        at=T0,
        not_before=T0 + timedelta(minutes=1),
    )
    assert await store.record([], [retry]) == [True]
    revision = await store.revision()
    later = T0 + timedelta(minutes=5)

    disabled = await store.set_enabled(job.id, False, next_fire_at=None, now=later)

    assert (disabled.enabled, disabled.version, disabled.next_fire_at) == (False, 1, None)
    assert disabled.updated_at == later
    assert await store.get_job(job.id) == disabled
    assert (await store.get_execution(fresh.id)).status is ExecutionStatus.CANCELLED
    # Started already (a retry waiting): not cancelled by disabling.
    assert (await store.get_execution(retrying.id)).status is ExecutionStatus.QUEUED
    assert await store.revision() == revision + 1
    assert await store.due_jobs(later, 10) == []

    enabled = await store.set_enabled(job.id, True, next_fire_at=later, now=later)
    assert (enabled.enabled, enabled.next_fire_at, enabled.version) == (True, later, 1)
    assert await store.revision() == revision + 2
    with pytest.raises(NotFoundError):
        await store.set_enabled("nope", True, next_fire_at=None, now=later)


async def test_set_next_fire_reschedules_and_bumps_revision(store: SqlStore) -> None:
    job = await make_job(store)
    later = T0 + timedelta(minutes=7, microseconds=3)
    await store.set_next_fire(job.id, later, last_finished_at=T0)
    stored = await store.get_job(job.id)
    assert (stored.next_fire_at, stored.last_finished_at) == (later, T0)
    await store.set_next_fire(job.id, None, last_finished_at=None)
    stored = await store.get_job(job.id)
    assert (stored.next_fire_at, stored.last_finished_at) == (None, T0)
    assert await store.revision() == 3


# -- scheduling -----------------------------------------------------------------------
async def test_due_jobs_earliest_first_with_limit(store: SqlStore) -> None:
    times = {
        name: T0 + timedelta(seconds=offset) for name, offset in [("c", 3), ("a", 1), ("b", 2)]
    }
    for name, moment in times.items():
        await make_job(store, name, next_fire_at=moment)
    await make_job(store, "off", next_fire_at=T0, enabled=False)
    await make_job(store, "unscheduled", next_fire_at=None)
    await make_job(store, "future", next_fire_at=T0 + timedelta(hours=1))

    horizon = T0 + timedelta(seconds=3)  # inclusive
    assert [job.name for job in await store.due_jobs(horizon, 10)] == ["a", "b", "c"]
    assert [job.name for job in await store.due_jobs(horizon, 2)] == ["a", "b"]
    assert await store.due_jobs(T0, 10) == []


async def test_next_wakeup_takes_jobs_and_unpublished_executions(store: SqlStore) -> None:
    job = await make_job(store, next_fire_at=T0 + timedelta(minutes=10))
    await make_job(store, "off", next_fire_at=T0, enabled=False)
    assert await store.next_wakeup() == T0 + timedelta(minutes=10)

    soon = T0 + timedelta(minutes=2)
    execution, _ = await store.create_execution(new_execution(job, not_before=soon))
    assert await store.next_wakeup() == soon
    await store.mark_published([execution])
    assert await store.next_wakeup() == T0 + timedelta(minutes=10)
    await store.set_next_fire(job.id, None, last_finished_at=None)
    assert await store.next_wakeup() is None


async def test_apply_fires_creates_executions_ledger_and_moves_the_job(store: SqlStore) -> None:
    job = await make_job(store)
    following = T0 + timedelta(minutes=5)
    decision = fire(job, T0, following=following)

    created = await store.apply_fires([decision])

    [execution] = created
    wanted = decision.executions[0]
    assert execution.id == wanted.id
    assert execution.idempotency_key == wanted.idempotency_key
    assert (execution.status, execution.attempt, execution.published) == (
        ExecutionStatus.QUEUED,
        0,
        False,
    )
    assert (execution.scheduled_at, execution.not_before) == (T0, T0)
    assert execution.params == {"region": "vn", "limit": 10}
    assert await store.get_execution(execution.id) == execution
    assert (await store.get_job(job.id)).next_fire_at == following
    [occurrence] = await store.occurrences(job.id)
    assert (occurrence.fire_time, occurrence.status, occurrence.execution_id) == (
        T0,
        OccurrenceStatus.FIRED,
        execution.id,
    )
    assert occurrence.recorded_at.tzinfo is UTC


async def test_the_same_fire_applied_twice_runs_once(store: SqlStore) -> None:
    job = await make_job(store)
    decision = fire(job, T0, following=T0 + timedelta(minutes=5))
    assert len(await store.apply_fires([decision])) == 1
    assert await store.apply_fires([decision]) == []
    assert len(await store.list_executions(job_id=job.id)) == 1
    assert len(await store.occurrences(job.id)) == 1


async def test_a_known_idempotency_key_is_ignored(store: SqlStore) -> None:
    job = await make_job(store)
    assert len(await store.apply_fires([fire(job, T0, following=T0)])) == 1
    # next_fire_at still matches (the job was not moved on), but the fire time has run.
    again = fire(job, T0, following=T0 + timedelta(minutes=5))
    assert await store.apply_fires([again]) == []
    assert len(await store.list_executions(job_id=job.id)) == 1
    assert (await store.get_job(job.id)).next_fire_at == T0 + timedelta(minutes=5)


async def test_a_stale_decision_applies_nothing(store: SqlStore) -> None:
    job = await make_job(store)
    stale = fire(job, T0, expected=T0 - timedelta(microseconds=1), following=T0)
    other = await make_job(store, "other")
    fresh = fire(other, T0, following=T0 + timedelta(minutes=1))

    created = await store.apply_fires([stale, fresh])

    assert [execution.job_id for execution in created] == [other.id]
    assert await store.list_executions(job_id=job.id) == []
    assert await store.occurrences(job.id) == []
    assert (await store.get_job(job.id)).next_fire_at == T0
    assert (await store.get_job(other.id)).next_fire_at == T0 + timedelta(minutes=1)


async def test_several_decisions_for_one_job_apply_in_order(store: SqlStore) -> None:
    job = await make_job(store)
    step = timedelta(minutes=1)
    decisions = [fire(job, T0 + step * n, following=T0 + step * (n + 1)) for n in range(3)]
    created = await store.apply_fires(decisions)
    assert [execution.scheduled_at for execution in created] == [T0, T0 + step, T0 + 2 * step]
    assert (await store.get_job(job.id)).next_fire_at == T0 + 3 * step
    assert len(await store.occurrences(job.id)) == 3


async def test_ledger_rows_without_executions(store: SqlStore) -> None:
    job = await make_job(store)
    skipped = JobFires(
        job_id=job.id,
        expected_next_fire_at=T0,
        new_next_fire_at=T0 + timedelta(minutes=1),
        occurrences=[
            NewOccurrence(
                job_id=job.id,
                fire_time=T0,
                status=OccurrenceStatus.SKIPPED,
                reason="still running",
            )
        ],
    )
    assert await store.apply_fires([skipped]) == []
    [occurrence] = await store.occurrences(job.id)
    assert (occurrence.status, occurrence.reason, occurrence.execution_id) == (
        OccurrenceStatus.SKIPPED,
        "still running",
        None,
    )


async def test_racing_schedulers_create_one_execution_per_fire(
    store: SqlStore, store_factory: StoreFactory
) -> None:
    other = await store_factory()
    jobs = [await make_job(store, f"job-{number}") for number in range(20)]
    rounds = 5
    for round_number in range(rounds):
        fire_time = T0 + timedelta(minutes=round_number)
        following = fire_time + timedelta(minutes=1)
        # Each scheduler makes its own decisions (own execution ids), as two would.
        mine = [fire(job, fire_time, following=following) for job in jobs]
        theirs = [fire(job, fire_time, following=following) for job in reversed(jobs)]
        created_here, created_there = await asyncio.gather(
            store.apply_fires(mine), other.apply_fires(theirs)
        )
        assert len(created_here) + len(created_there) == len(jobs)

    fire_times = [T0 + timedelta(minutes=n) for n in range(rounds)]
    for job in jobs:
        executions = await store.list_executions(job_id=job.id, limit=100)
        assert sorted(e.scheduled_at for e in executions if e.scheduled_at) == fire_times
        ledger = await store.occurrences(job.id)
        assert [occurrence.fire_time for occurrence in ledger] == fire_times[::-1]
        assert {occurrence.execution_id for occurrence in ledger} == {e.id for e in executions}


async def test_active_jobs(store: SqlStore) -> None:
    idle, waiting, busy, done = [await make_job(store, name) for name in "abcd"]
    await queued(store, waiting, 1)
    [running] = await queued(store, busy, 1)
    await claim_one(store, running)
    [finished] = await queued(store, done, 1)
    finished = await claim_one(store, finished)
    assert await store.record([], [succeeded(finished)]) == [True]
    ids = [idle.id, waiting.id, busy.id, done.id, "unknown"]
    assert await store.active_jobs(ids) == {waiting.id, busy.id}
    assert await store.active_jobs([]) == set()


async def test_create_execution_is_idempotent(store: SqlStore) -> None:
    job = await make_job(store)
    wanted = new_execution(job, "manual:42")
    created, was_new = await store.create_execution(wanted)
    assert was_new
    assert (created.id, created.status, created.triggered_by) == (
        wanted.id,
        ExecutionStatus.QUEUED,
        "alice",
    )
    revision = await store.revision()
    again, was_new = await store.create_execution(new_execution(job, "manual:42"))
    assert not was_new
    assert again == created
    assert await store.revision() == revision
    assert len(await store.list_executions()) == 1


async def test_exclusive_executions_at_the_same_instant_create_one(
    store: SqlStore, store_factory: StoreFactory
) -> None:
    # Four engines (as four processes would have), each inserting three at once.
    stores = [store, *[await store_factory() for _ in range(3)]]
    for round_number in range(5):
        job = await make_job(store, f"single-{round_number}")
        results = await asyncio.gather(
            *(
                one.create_execution(new_execution(job), exclusive=True)
                for one in stores
                for _ in range(3)
            ),
            return_exceptions=True,
        )
        created = [r for r in results if isinstance(r, tuple)]
        refused = [r for r in results if isinstance(r, ConflictError)]
        assert len(created) == 1 and created[0][1] is True, results
        assert len(refused) == len(results) - 1, results
        assert "already running" in refused[0].message
        assert await store.list_executions(job_id=job.id) == [created[0][0]]


async def test_exclusive_execution_keeps_its_idempotency_key(store: SqlStore) -> None:
    job = await make_job(store)
    first, was_new = await store.create_execution(new_execution(job, "manual:1"), exclusive=True)
    assert was_new
    await claim_one(store, first)
    # The same key gets its own run back, queued or running; another key is refused.
    again, was_new = await store.create_execution(new_execution(job, "manual:1"), exclusive=True)
    assert (again.id, again.status, was_new) == (first.id, ExecutionStatus.RUNNING, False)
    with pytest.raises(ConflictError, match=rf"{first.id} is running"):
        await store.create_execution(new_execution(job, "manual:2"), exclusive=True)
    # Not exclusive: the same job may run side by side.
    _, was_new = await store.create_execution(new_execution(job, "manual:3"))
    assert was_new
    assert len(await store.list_executions(job_id=job.id)) == 2
    with pytest.raises(NotFoundError):
        await store.create_execution(
            replace(new_execution(job), job_id="no-such-job"), exclusive=True
        )


async def test_an_exclusive_execution_is_created_again_once_the_job_is_idle(
    store: SqlStore,
) -> None:
    job = await make_job(store)
    first, _ = await store.create_execution(new_execution(job), exclusive=True)
    running = await claim_one(store, first)
    assert await store.record([], [succeeded(running)]) == [True]
    second, was_new = await store.create_execution(new_execution(job), exclusive=True)
    assert was_new and second.id != first.id
    assert await store.active_jobs([job.id]) == {job.id}


async def test_pending_publish_and_mark_published(store: SqlStore) -> None:
    job = await make_job(store)
    late, early, future = [
        (await store.create_execution(new_execution(job, not_before=T0 + timedelta(seconds=s))))[0]
        for s in (2, 1, 60)
    ]
    horizon = T0 + timedelta(seconds=2)
    assert [e.id for e in await store.pending_publish(horizon, 10)] == [early.id, late.id]
    assert [e.id for e in await store.pending_publish(horizon, 1)] == [early.id]

    await store.mark_published([early])
    assert [e.id for e in await store.pending_publish(horizon, 10)] == [late.id]
    assert (await store.get_execution(early.id)).published
    assert [e.id for e in await store.pending_publish(T0 + timedelta(hours=1), 10)] == [
        late.id,
        future.id,
    ]


# -- workers --------------------------------------------------------------------------
async def test_claim_takes_queued_executions(store: SqlStore) -> None:
    job = await make_job(store)
    executions = await queued(store, job, 3)
    ids = [execution.id for execution in executions]
    now = T0 + timedelta(seconds=1)

    claimed = await store.claim(ids, "w1", lease_until=now + LEASE, now=now)

    assert [execution.id for execution in claimed] == ids
    for execution in claimed:
        assert execution.status is ExecutionStatus.RUNNING
        assert (execution.lease_owner, execution.lease_expires_at) == ("w1", now + LEASE)
        assert (execution.attempt, execution.started_at) == (1, now)
        assert await store.get_execution(execution.id) == execution
    assert await store.claim(ids, "w2", lease_until=now + LEASE, now=now) == []
    assert await store.claim(["unknown"], "w2", lease_until=now + LEASE, now=now) == []


async def test_claim_skips_finished_and_cancelled(store: SqlStore) -> None:
    job = await make_job(store)
    done, dropped = await queued(store, job, 2)
    done = await claim_one(store, done)
    assert await store.record([], [succeeded(done)]) == [True]
    await store.delete_job(job.id)  # cancels `dropped`
    assert await store.claim([done.id, dropped.id], "w2", lease_until=T0 + LEASE, now=T0) == []


async def test_two_workers_claiming_the_same_ids_get_each_once(
    store: SqlStore, store_factory: StoreFactory
) -> None:
    other = await store_factory()
    job = await make_job(store)
    ids = [execution.id for execution in await queued(store, job, 60)]
    claimers = []
    for number, target in enumerate([store, other, store, other]):
        shuffled = random.Random(number).sample(ids, len(ids))
        claimers.append(target.claim(shuffled, f"w{number}", lease_until=T0 + LEASE, now=T0))

    results = await asyncio.gather(*claimers)

    claimed = [execution.id for result in results for execution in result]
    assert sorted(claimed) == sorted(ids)  # every id claimed, none twice
    for number, result in enumerate(results):
        assert all(execution.lease_owner == f"w{number}" for execution in result)


async def test_an_expired_lease_is_claimed_again_with_the_next_attempt(store: SqlStore) -> None:
    job = await make_job(store)
    [execution] = await queued(store, job, 1)
    first = await claim_one(store, execution)

    before_expiry = T0 + LEASE - timedelta(microseconds=1)
    assert (
        await store.claim([execution.id], "w2", lease_until=T0 + 2 * LEASE, now=before_expiry) == []
    )
    at_expiry = T0 + LEASE  # the lease must have expired *before* now
    assert await store.claim([execution.id], "w2", lease_until=T0 + 2 * LEASE, now=at_expiry) == []

    after = T0 + LEASE + timedelta(microseconds=1)
    [second] = await store.claim([execution.id], "w2", lease_until=after + LEASE, now=after)
    assert (second.attempt, second.lease_owner, second.started_at) == (2, "w2", first.started_at)
    # The first worker no longer holds it: its outcome is refused.
    assert await store.record([], [succeeded(first)]) == [False]
    assert await store.record([], [succeeded(second, owner="w2")]) == [True]


async def test_extend_leases_only_for_the_holder(store: SqlStore) -> None:
    job = await make_job(store)
    mine, theirs = await queued(store, job, 2)
    await claim_one(store, mine, "w1")
    await claim_one(store, theirs, "w2")
    later = T0 + 3 * LEASE
    await store.extend_leases([mine.id, theirs.id], "w1", later)
    assert (await store.get_execution(mine.id)).lease_expires_at == later
    assert (await store.get_execution(theirs.id)).lease_expires_at == T0 + LEASE


async def test_record_finishes_and_stamps_the_job(store: SqlStore) -> None:
    job = await make_job(store)
    [execution] = await queued(store, job, 1)
    running = await claim_one(store, execution)
    done = T0 + timedelta(seconds=3, microseconds=7)
    result = StepResult(
        execution_id=running.id,
        step_id="call",
        attempt=1,
        status=StepStatus.SUCCEEDED,
        started_at=T0,
        finished_at=done,
        output={"status": 200, "body": {"ok": True}},
    )

    assert await store.record([result], [succeeded(running, at=done)]) == [True]

    finished = await store.get_execution(running.id)
    assert (finished.status, finished.finished_at, finished.error) == (
        ExecutionStatus.SUCCEEDED,
        done,
        None,
    )
    assert finished.lease_expires_at is None
    # The database records that the step finished; its output lives only in the Job
    # Context in object storage (S2.3).
    assert await store.step_results(running.id) == [replace(result, output=None)]
    assert (await store.get_job(job.id)).last_finished_at == done
    # Once finished, nothing more applies.
    assert await store.record([], [succeeded(running, at=done)]) == [False]


async def test_record_refuses_a_stale_owner_or_attempt(store: SqlStore) -> None:
    job = await make_job(store)
    [execution] = await queued(store, job, 1)
    running = await claim_one(store, execution, "w1")
    wrong_owner = succeeded(running, owner="w2")
    wrong_attempt = Outcome(
        execution_id=running.id,
        owner="w1",
        attempt=2,
        status=ExecutionStatus.FAILED,
        at=T0,
    )
    unknown = Outcome(
        execution_id="unknown", owner="w1", attempt=1, status=ExecutionStatus.FAILED, at=T0
    )
    assert await store.record([], [wrong_owner, wrong_attempt, unknown]) == [False] * 3
    assert (await store.get_execution(running.id)).status is ExecutionStatus.RUNNING
    assert (await store.get_job(job.id)).last_finished_at is None


async def test_record_applies_each_outcome_of_a_batch_on_its_own(store: SqlStore) -> None:
    job = await make_job(store)
    first, second = await queued(store, job, 2)
    first = await claim_one(store, first, "w1")
    second = await claim_one(store, second, "w1")
    outcomes = [
        succeeded(first, owner="w9"),  # stale
        succeeded(second, at=T0 + timedelta(seconds=2)),
        succeeded(first, at=T0 + timedelta(seconds=5)),
        succeeded(first, at=T0 + timedelta(seconds=9)),  # first already finished above
    ]
    assert await store.record([], outcomes) == [False, True, True, False]
    assert (await store.get_execution(first.id)).finished_at == T0 + timedelta(seconds=5)
    assert (await store.get_job(job.id)).last_finished_at == T0 + timedelta(seconds=5)


async def test_last_finished_at_never_goes_back(store: SqlStore) -> None:
    job = await make_job(store)
    late, early = await queued(store, job, 2)
    late = await claim_one(store, late)
    early = await claim_one(store, early)
    assert await store.record([], [succeeded(late, at=T0 + timedelta(minutes=2))]) == [True]
    assert await store.record([], [succeeded(early, at=T0 + timedelta(minutes=1))]) == [True]
    assert (await store.get_job(job.id)).last_finished_at == T0 + timedelta(minutes=2)


async def test_a_retry_is_queued_again_and_must_be_published(store: SqlStore) -> None:
    job = await make_job(store)
    [execution] = await queued(store, job, 1)
    await store.mark_published([execution])
    running = await claim_one(store, execution)
    retry_at = T0 + timedelta(seconds=15, microseconds=5)
    revision = await store.revision()
    retry = Outcome(
        execution_id=running.id,
        owner="w1",
        attempt=1,
        status=ExecutionStatus.QUEUED,
        at=T0 + timedelta(seconds=1),
        error="503 Service Unavailable",
        not_before=retry_at,
    )

    assert await store.record([], [retry]) == [True]

    waiting = await store.get_execution(running.id)
    assert (waiting.status, waiting.not_before, waiting.published) == (
        ExecutionStatus.QUEUED,
        retry_at,
        False,
    )
    assert (waiting.lease_owner, waiting.lease_expires_at) == (None, None)
    assert waiting.error == "503 Service Unavailable"
    assert await store.revision() == revision + 1
    assert await store.pending_publish(retry_at - timedelta(microseconds=1), 10) == []
    assert [e.id for e in await store.pending_publish(retry_at, 10)] == [running.id]
    assert await store.next_wakeup() == min(retry_at, T0)  # the job is due at T0 too

    [again] = await store.claim([running.id], "w2", lease_until=retry_at + LEASE, now=retry_at)
    assert (again.attempt, again.started_at, again.lease_owner) == (2, T0, "w2")


async def test_save_jobs_creates_updates_and_keeps_in_one_call(store: SqlStore) -> None:
    await make_job(store, "old")
    await make_job(store, "same")
    revision = await store.revision()
    results = await store.save_jobs(
        [
            (definition("new-1"), T0),
            (definition("old", url="http://127.0.0.1/changed"), T0 + timedelta(minutes=1)),
            (definition("same"), T0),
            (definition("new-2"), None),
        ],
        now=T0,
    )
    assert [(r.job.name, r.change, r.job.version) for r in results] == [
        ("new-1", "created", 1),
        ("old", "updated", 2),
        ("same", "unchanged", 1),
        ("new-2", "created", 1),
    ]
    assert (await store.get_job("new-2")).next_fire_at is None
    assert (await store.job_definition(results[0].job.id, 1)).name == "new-1"
    assert await store.revision() > revision
    assert [j.name for j in await store.list_jobs()] == ["new-1", "new-2", "old", "same"]
    by_name = await store.jobs_by_name(["old", "nope", "new-1"])
    assert sorted(by_name) == ["new-1", "old"] and by_name["old"].version == 2


async def test_save_jobs_writes_their_variables_in_the_same_transaction(store: SqlStore) -> None:
    """An import: each new job's variables are made from its id once saved; a failure
    while they are made undoes the jobs too."""
    await make_job(store, "old")

    def variables(saved: Any) -> list[NewVariable]:
        return [
            NewVariable(scope=r.job.id, name="REGION", value=r.job.name, secret=False)
            for r in saved
        ]

    results = await store.save_jobs(
        [(definition("old", url="http://127.0.0.1/v2"), None), (definition("new"), None)],
        now=T0,
        variables=variables,
    )
    for result in results:
        [found] = await store.list_variables(scope=result.job.id)
        assert (found.name, found.value) == ("REGION", result.job.name)

    def broken(saved: Any) -> list[NewVariable]:
        raise RuntimeError("cannot seal")

    with pytest.raises(RuntimeError):
        await store.save_jobs([(definition("newer"), None)], now=T0, variables=broken)
    with pytest.raises(NotFoundError):
        await store.get_job("newer")
    assert [j.name for j in await store.list_jobs()] == ["new", "old"]


async def test_a_late_mark_published_does_not_hide_a_retry(store: SqlStore) -> None:
    """The relay marks an execution published after a worker already retried it."""
    job = await make_job(store)
    [execution] = await queued(store, job, 1)  # attempt 0, handed to the queue
    running = await claim_one(store, execution)
    retry = Outcome(
        execution_id=running.id,
        owner="w1",
        attempt=1,
        status=ExecutionStatus.QUEUED,
        at=T0,
        not_before=T0 + timedelta(seconds=5),
    )
    assert await store.record([], [retry]) == [True]
    await store.mark_published([execution])  # stale: it was published at attempt 0
    assert [e.id for e in await store.pending_publish(T0 + timedelta(seconds=5), 10)] == [
        running.id
    ]


async def test_outcome_records_the_real_start_of_the_attempt(store: SqlStore) -> None:
    job = await make_job(store)
    [execution] = await queued(store, job, 1)
    running = await claim_one(store, execution)  # claimed at T0, ahead of its fire time
    real_start = T0 + timedelta(seconds=1, microseconds=7)
    done = Outcome(
        execution_id=running.id,
        owner="w1",
        attempt=1,
        status=ExecutionStatus.SUCCEEDED,
        at=real_start + timedelta(seconds=1),
        started_at=real_start,
    )
    assert await store.record([], [done]) == [True]
    assert (await store.get_execution(running.id)).started_at == real_start


async def test_job_definitions_in_one_call(store: SqlStore) -> None:
    first = await make_job(store, "first")
    second = await make_job(store, "second")
    found = await store.job_definitions(
        [(first.id, 1), (second.id, 1), (second.id, 7), ("nope", 1)]
    )
    assert set(found) == {(first.id, 1), (second.id, 1)}
    assert found[(second.id, 1)].name == "second"


async def test_dead_letter_outcome(store: SqlStore) -> None:
    job = await make_job(store)
    [execution] = await queued(store, job, 1)
    running = await claim_one(store, execution)
    at = T0 + timedelta(seconds=4)
    final = Outcome(
        execution_id=running.id,
        owner="w1",
        attempt=1,
        status=ExecutionStatus.FAILED,
        at=at,
        error="404 Not Found",
        dead_letter=True,
    )
    assert await store.record([], [final]) == [True]
    failed = await store.get_execution(running.id)
    assert (failed.status, failed.error, failed.dead_lettered_at, failed.finished_at) == (
        ExecutionStatus.FAILED,
        "404 Not Found",
        at,
        at,
    )


async def test_a_running_outcome_is_invalid(store: SqlStore) -> None:
    job = await make_job(store)
    [execution] = await queued(store, job, 1)
    running = await claim_one(store, execution)
    bad = Outcome(
        execution_id=running.id, owner="w1", attempt=1, status=ExecutionStatus.RUNNING, at=T0
    )
    with pytest.raises(ValidationError):
        await store.record([], [bad])


async def test_step_results_in_recorded_order_and_upserted(store: SqlStore) -> None:
    job = await make_job(store)
    [execution] = await queued(store, job, 1)

    def result(step_id: str, attempt: int, status: StepStatus) -> StepResult:
        return StepResult(
            execution_id=execution.id,
            step_id=step_id,
            attempt=attempt,
            status=status,
            started_at=T0,
            finished_at=T0 + timedelta(seconds=attempt),
            error=None if status is StepStatus.SUCCEEDED else "boom",
        )

    await store.record([result("zeta", 1, StepStatus.SUCCEEDED)], [])
    await store.record([result("alpha", 1, StepStatus.FAILED)], [])
    await store.record(
        [result("alpha", 2, StepStatus.SUCCEEDED), result("mid", 2, StepStatus.SKIPPED)], []
    )

    assert await store.step_results(execution.id) == [
        result("zeta", 1, StepStatus.SUCCEEDED),
        result("alpha", 2, StepStatus.SUCCEEDED),
        result("mid", 2, StepStatus.SKIPPED),
    ]
    assert await store.step_results("unknown") == []


async def test_list_executions_filters_newest_first(store: SqlStore) -> None:
    first_job, second_job = await make_job(store, "one"), await make_job(store, "two")
    ones = await queued(store, first_job, 3)
    [two] = await queued(store, second_job, 1)
    await claim_one(store, ones[0])

    assert [e.id for e in await store.list_executions(job_id=first_job.id)] == [
        ones[2].id,
        ones[1].id,
        ones[0].id,
    ]
    assert [e.id for e in await store.list_executions(job_id=first_job.id, limit=1)] == [ones[2].id]
    running = await store.list_executions(status=ExecutionStatus.RUNNING)
    assert [e.id for e in running] == [ones[0].id]
    queued_ones = await store.list_executions(job_id=first_job.id, status=ExecutionStatus.QUEUED)
    assert [e.id for e in queued_ones] == [ones[2].id, ones[1].id]
    assert {e.id for e in await store.list_executions()} == {*(e.id for e in ones), two.id}


async def test_get_unknown_execution_is_not_found(store: SqlStore) -> None:
    with pytest.raises(NotFoundError):
        await store.get_execution("unknown")


async def test_occurrences_newest_first_with_limit(store: SqlStore) -> None:
    job = await make_job(store)
    step = timedelta(minutes=1)
    await store.apply_fires(
        [fire(job, T0 + step * n, following=T0 + step * (n + 1)) for n in range(4)]
    )
    ledger = await store.occurrences(job.id, limit=3)
    assert [o.fire_time for o in ledger] == [T0 + step * 3, T0 + step * 2, T0 + step]
    assert await store.occurrences("unknown") == []


async def test_two_stores_write_concurrently(store: SqlStore, store_factory: StoreFactory) -> None:
    other = await store_factory()
    job = await make_job(store)

    async def write(target: SqlStore, number: int) -> None:
        await target.save_job(definition(f"job-{number}"), next_fire_at=T0, now=T0)
        execution, _ = await target.create_execution(new_execution(job))
        await claim_one(target, execution)

    await asyncio.gather(*(write(store if n % 2 else other, n) for n in range(40)))
    assert len(await store.list_jobs()) == 41
    assert len(await other.list_executions(status=ExecutionStatus.RUNNING, limit=100)) == 40


async def test_stores_in_two_event_loops_write_the_same_database(
    store: SqlStore, store_url: str
) -> None:
    """Like two processes: separate engines, threads and loops, all writing at once."""
    job = await make_job(store)

    async def writer(target: SqlStore, prefix: str) -> None:
        for number in range(15):
            await target.save_job(definition(f"{prefix}-{number}"), next_fire_at=T0, now=T0)
            execution, _ = await target.create_execution(new_execution(job))
            await claim_one(target, execution, owner=prefix)

    async def elsewhere() -> None:
        other = SqlStore(store_url)
        await other.start()
        try:
            await writer(other, "thread")
        finally:
            await other.close()

    await asyncio.gather(asyncio.to_thread(asyncio.run, elsewhere()), writer(store, "loop"))
    assert len(await store.list_jobs()) == 31
    running = await store.list_executions(status=ExecutionStatus.RUNNING, limit=100)
    assert sorted({str(e.lease_owner) for e in running}) == ["loop", "thread"]
    assert len(running) == 30


# -- round trips ----------------------------------------------------------------------
FUNCTION_STORE = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@FUNCTION_STORE
@given(
    moment=st.datetimes(
        min_value=datetime(1970, 1, 2),
        max_value=datetime(2200, 1, 1),
        timezones=st.timezones(),
    )
)
async def test_any_aware_datetime_round_trips_as_utc(store: SqlStore, moment: datetime) -> None:
    # Compare with the UTC form: Python never calls a local time in a DST gap or fold
    # equal to a time in another zone (PEP 495), even at the same instant.
    instant = moment.astimezone(UTC)
    job = await make_job(store, f"job-{new_id()}", next_fire_at=moment)
    assert job.next_fire_at == instant
    assert job.next_fire_at is not None
    assert job.next_fire_at.tzinfo is UTC
    execution, _ = await store.create_execution(new_execution(job, not_before=moment))
    stored = await store.get_execution(execution.id)
    assert stored.not_before == instant
    assert stored.not_before.tzinfo is UTC
    # The store keeps earlier examples' jobs; only this one's presence matters.
    assert job.id in {due.id for due in await store.due_jobs(instant, 1000)}
    assert job.id not in {due.id for due in await store.due_jobs(instant - MICROSECOND, 1000)}


JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)
DEFINITIONS = st.builds(
    JobDefinition,
    name=st.from_regex(NAME_PATTERN, fullmatch=True),
    description=st.text(max_size=40),
    enabled=st.booleans(),
    timezone=st.sampled_from(["UTC", "Asia/Ho_Chi_Minh", "America/New_York"]),
    triggers=st.lists(
        st.builds(
            TriggerSpec,
            type=st.sampled_from(["cron", "fixed_rate", "once"]),
            config=st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=3),
        ),
        max_size=2,
    ),
    steps=st.lists(
        st.builds(
            StepSpec,
            id=st.from_regex(STEP_ID_PATTERN, fullmatch=True),
            type=st.sampled_from(["http", "database"]),
            timeout=st.none() | st.floats(min_value=0.001, max_value=1e6),
            config=st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=4),
        ),
        min_size=1,
        max_size=3,
    ),
    retry=st.builds(RetryPolicy, delay=st.floats(min_value=0, max_value=1e4)),
    start_at=st.none()
    | st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.timezones()
    ),
    tags=st.lists(st.text(max_size=10), max_size=3),
)


@FUNCTION_STORE
@given(wanted=DEFINITIONS)
async def test_any_definition_round_trips_and_saves_unchanged(
    store: SqlStore, wanted: JobDefinition
) -> None:
    # Definitions are stored as their JSON form; compare that (a start_at in a DST gap
    # would otherwise compare unequal to its own round trip, see PEP 495).
    document = wanted.model_dump(mode="json")
    saved = await store.save_job(wanted, next_fire_at=None, now=T0)
    assert saved.job.definition.model_dump(mode="json") == document
    assert (await store.get_job(saved.job.id)).definition.model_dump(mode="json") == document
    stored = await store.job_definition(saved.job.id, saved.job.version)
    assert stored.model_dump(mode="json") == document
    assert (await store.save_job(wanted, next_fire_at=None, now=T0)).change == "unchanged"


def test_store_repr_hides_the_password() -> None:
    store = SqlStore("postgresql+asyncpg://vecron:s3cret@db.example/vecron")
    assert "s3cret" not in repr(store)
    assert make_url(store.url).password == "s3cret"


# -- distributed mode: leadership, clock, reconciliation, re-runs ---------------------


async def test_a_new_leader_fences_the_previous_one(store: SqlStore) -> None:
    from vecron.errors import FencedOut

    job = await make_job(store)
    first = await store.elect("scheduler-a", T0)
    second = await store.elect("scheduler-b", T0)
    assert second > first
    stale = fire(job, T0, following=T0 + timedelta(minutes=5))
    with pytest.raises(FencedOut):
        await store.apply_fires([stale], epoch=first)
    assert await store.list_executions() == []  # the paused ex-leader wrote nothing
    assert (await store.get_job(job.id)).next_fire_at == T0
    assert len(await store.apply_fires([stale], epoch=second)) == 1


async def test_the_database_clock_is_aware_and_close(store: SqlStore) -> None:
    now = await store.now()
    assert now.tzinfo is not None
    assert abs((now - datetime.now(UTC)).total_seconds()) < 5


async def test_stranded_finds_dead_leases_and_lost_messages(store: SqlStore) -> None:
    job = await make_job(store)
    lost, taken, fresh = await queued(store, job, 3)
    await store.mark_published([lost, taken, fresh])
    running = await claim_one(store, taken)  # lease until T0 + 30 s
    later = T0 + timedelta(minutes=5)
    found = await store.stranded(now=later, unclaimed_before=later, limit=10)
    assert {e.id for e in found} == {lost.id, running.id, fresh.id}
    # Within the lease and the grace, nothing is stranded.
    assert await store.stranded(now=T0, unclaimed_before=T0 - timedelta(minutes=1), limit=10) == []


async def test_rerun_puts_a_dead_letter_back_with_more_attempts(store: SqlStore) -> None:
    from vecron.errors import ConflictError

    job = await make_job(store)
    [execution] = await queued(store, job, 1)
    running = await claim_one(store, execution)
    step = StepResult(
        execution_id=running.id,
        step_id="call",
        attempt=1,
        status=StepStatus.SUCCEEDED,
        started_at=T0,
        finished_at=T0,
        output={"ok": True},
    )
    dead = Outcome(
        execution_id=running.id,
        owner="w1",
        attempt=1,
        status=ExecutionStatus.FAILED,
        at=T0,
        error="boom",
        dead_letter=True,
    )
    assert await store.record([step], [dead]) == [True]
    [not_dead] = await queued(store, job, 1)
    with pytest.raises(ConflictError):
        await store.rerun(not_dead.id, extra_attempts=3, now=T0)
    again = await store.rerun(running.id, extra_attempts=3, now=T0 + timedelta(hours=1))
    assert (again.status, again.max_attempts, again.dead_lettered_at, again.error) == (
        ExecutionStatus.QUEUED,
        4,
        None,
        None,
    )
    assert [e.id for e in await store.pending_publish(T0 + timedelta(hours=1), 10)][
        -1
    ] == running.id
    assert [r.step_id for r in await store.step_results(running.id)] == ["call"]  # resumes after it
    with pytest.raises(NotFoundError):
        await store.rerun("nope", extra_attempts=1, now=T0)


async def test_a_refunded_hand_back_does_not_use_an_attempt(store: SqlStore) -> None:
    job = await make_job(store)
    [execution] = await queued(store, job, 1)
    running = await claim_one(store, execution)
    back = Outcome(
        execution_id=running.id,
        owner="w1",
        attempt=1,
        status=ExecutionStatus.QUEUED,
        at=T0,
        not_before=T0,
        refund_attempt=True,
    )
    assert await store.record([], [back]) == [True]
    assert (await store.get_execution(running.id)).attempt == 0

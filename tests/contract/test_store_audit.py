"""The audit log in the store, on SQLite and PostgreSQL (the ``store`` fixture).

An entry given to a mutating method commits with its change or not at all: a change
that fails leaves no entry, a call that changes nothing writes none, and an entry that
cannot be written takes its change down with it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vecron.auth.audit import AuditEntry, AuditOutcome
from vecron.errors import ConflictError, NotFoundError, ValidationError
from vecron.ids import new_id
from vecron.models.execution import Execution, ExecutionStatus, Outcome
from vecron.models.job import JobRecord
from vecron.store.sql import SqlStore

from .test_store import T0, claim_one, definition, make_job, new_execution


def entry(
    action: str = "job.update",
    resource: str = "job:report",
    *,
    at: datetime = T0,
    actor: str = "alice",
    outcome: AuditOutcome = AuditOutcome.OK,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    return AuditEntry(
        id=new_id(),
        at=at,
        actor=actor,
        source="cli",
        address="127.0.0.1",
        action=action,
        resource=resource,
        outcome=outcome,
        detail=detail or {},
    )


async def dead_lettered(store: SqlStore, job: JobRecord) -> Execution:
    created, _ = await store.create_execution(new_execution(job))
    running = await claim_one(store, created)
    dead = Outcome(
        execution_id=running.id,
        owner="w1",
        attempt=running.attempt,
        status=ExecutionStatus.FAILED,
        at=T0,
        error="boom",
        dead_letter=True,
    )
    assert await store.record([], [dead]) == [True]
    return running


# -- add_audit and list_audit ---------------------------------------------------------
async def test_an_entry_reads_back_whole(store: SqlStore) -> None:
    written = entry(
        "variable.set",
        "variable:TOKEN",
        outcome=AuditOutcome.DENIED,
        detail={"scope": None, "secret": True, "names": ["a", "ắ"], "count": 2, "ratio": 0.5},
    )
    await store.add_audit(written)
    assert await store.list_audit() == [written]
    bare = entry(at=T0 + timedelta(microseconds=1)).model_copy(update={"address": None})
    await store.add_audit(bare)
    assert await store.list_audit() == [bare, written]


async def test_an_entry_id_is_written_once(store: SqlStore) -> None:
    first = entry()
    await store.add_audit(first)
    with pytest.raises(ConflictError):
        await store.add_audit(first.model_copy(update={"actor": "mallory"}))
    assert await store.list_audit() == [first]


async def test_list_filters_and_orders_newest_first(store: SqlStore) -> None:
    a = entry("job.create", "job:a", at=T0, actor="alice")
    b = entry("job.delete", "job:a", at=T0 + timedelta(seconds=1), actor="bob")
    c = entry("job.create", "job:b", at=T0 + timedelta(seconds=2), actor="alice")
    # Same instant as c: the greater id comes first.
    d = entry("variable.set", "variable:X", at=c.at, actor="alice")
    c, d = c.model_copy(update={"id": "audit-c"}), d.model_copy(update={"id": "audit-d"})
    for one in (c, a, d, b):
        await store.add_audit(one)

    assert await store.list_audit() == [d, c, b, a]
    assert await store.list_audit(actor="alice") == [d, c, a]
    assert await store.list_audit(resource="job:a") == [b, a]
    assert await store.list_audit(action="job.create") == [c, a]
    assert await store.list_audit(since=b.at) == [d, c, b]
    assert await store.list_audit(actor="alice", action="job.create", since=b.at) == [c]
    assert await store.list_audit(limit=2) == [d, c]
    assert await store.list_audit(limit=0) == []
    assert await store.list_audit(actor="nobody") == []
    with pytest.raises(ValidationError):
        await store.list_audit(limit=-1)


ACTORS = st.sampled_from(["alice", "bob", "carol"])
RESOURCES = st.sampled_from(["job:a", "job:b", "variable:X"])
ACTIONS = st.sampled_from(["job.create", "job.delete", "variable.set"])
OFFSETS = st.integers(min_value=0, max_value=5)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    rows=st.lists(st.tuples(ACTORS, RESOURCES, ACTIONS, OFFSETS), max_size=12),
    actor=st.none() | ACTORS,
    resource=st.none() | RESOURCES,
    action=st.none() | ACTIONS,
    since=st.none() | OFFSETS,
    limit=st.integers(min_value=0, max_value=15),
)
async def test_list_is_the_filtered_log_newest_first(
    store: SqlStore,
    rows: list[tuple[str, str, str, int]],
    actor: str | None,
    resource: str | None,
    action: str | None,
    since: int | None,
    limit: int,
) -> None:
    # One store serves every example: each example's entries carry a source of its own.
    run = new_id()
    written = [
        entry(act, res, actor=who, at=T0 + timedelta(seconds=offset)).model_copy(
            update={"source": run}
        )
        for who, res, act, offset in rows
    ]
    for one in written:
        await store.add_audit(one)
    start = None if since is None else T0 + timedelta(seconds=since)
    found = await store.list_audit(
        actor=actor, resource=resource, action=action, since=start, limit=10_000
    )
    found = [one for one in found if one.source == run]
    expected = sorted(
        (
            one
            for one in written
            if (actor is None or one.actor == actor)
            and (resource is None or one.resource == resource)
            and (action is None or one.action == action)
            and (start is None or one.at >= start)
        ),
        key=lambda one: (one.at, one.id),
        reverse=True,
    )
    assert found == expected
    limited = await store.list_audit(
        actor=actor, resource=resource, action=action, since=start, limit=limit
    )
    assert len(limited) <= limit
    everything = await store.list_audit(
        actor=actor, resource=resource, action=action, since=start, limit=10_000
    )
    assert limited == everything[:limit]


# -- an entry commits with its change --------------------------------------------------
# Each change: a preparation (committed on its own) and the audited call.
Prepare = Callable[[SqlStore], Awaitable[Any]]
Change = Callable[[SqlStore, Any, AuditEntry], Awaitable[Any]]


async def _nothing(store: SqlStore) -> None:
    return None


async def _a_job(store: SqlStore) -> JobRecord:
    return await make_job(store)


async def _a_dead_letter(store: SqlStore) -> Execution:
    return await dead_lettered(store, await make_job(store))


async def _a_variable(store: SqlStore) -> None:
    await store.set_variable(None, "URL", "x", secret=False, now=T0)


async def _a_secret(store: SqlStore) -> None:
    await store.set_variable(None, "TOKEN", "old", secret=True, now=T0)


CHANGES: dict[str, tuple[Prepare, Change]] = {
    "save_job": (
        _nothing,
        lambda s, _, a: s.save_job(definition("fresh"), next_fire_at=None, now=T0, audit=a),
    ),
    "save_jobs": (
        _nothing,
        lambda s, _, a: s.save_jobs(
            [(definition("one"), None), (definition("two"), None)], now=T0, audit=[a, None]
        ),
    ),
    "set_enabled": (
        _a_job,
        lambda s, job, a: s.set_enabled(job.id, False, next_fire_at=None, now=T0, audit=a),
    ),
    "delete_job": (_a_job, lambda s, job, a: s.delete_job(job.id, audit=a)),
    "create_execution": (
        _a_job,
        lambda s, job, a: s.create_execution(new_execution(job), exclusive=True, audit=a),
    ),
    "rerun": (
        _a_dead_letter,
        lambda s, dead, a: s.rerun(dead.id, extra_attempts=1, now=T0, audit=a),
    ),
    "set_variable": (
        _nothing,
        lambda s, _, a: s.set_variable(None, "URL", "x", secret=False, now=T0, audit=a),
    ),
    "delete_variable": (_a_variable, lambda s, _, a: s.delete_variable(None, "URL", audit=a)),
    "rotate_secret_values": (
        _a_secret,
        lambda s, _, a: s.rotate_secret_values(lambda v: "new", audit=a),
    ),
}


async def _state(store: SqlStore) -> tuple[Any, ...]:
    """Everything the changes above touch."""
    jobs = [(j.name, j.enabled, j.version) for j in await store.list_jobs()]
    executions = [(e.id, e.status, e.max_attempts) for e in await store.list_executions()]
    variables = [(v.name, v.value) for v in await store.list_variables(every_scope=True)]
    return jobs, executions, variables, await store.revision()


@pytest.mark.parametrize("change", CHANGES)
async def test_each_change_writes_its_entry_with_the_change(store: SqlStore, change: str) -> None:
    prepare, call = CHANGES[change]
    context = await prepare(store)
    before = await _state(store)
    audit = entry(change, detail={"why": change})
    await call(store, context, audit)
    assert await _state(store) != before
    assert await store.list_audit() == [audit]


@pytest.mark.parametrize("change", CHANGES)
async def test_an_entry_that_cannot_be_written_undoes_its_change(
    store: SqlStore, change: str
) -> None:
    """The mirror of "no entry without its change": no change without its entry."""
    prepare, call = CHANGES[change]
    context = await prepare(store)
    taken = entry("taken")
    await store.add_audit(taken)
    before = await _state(store)
    with pytest.raises(ConflictError):
        await call(store, context, entry(change).model_copy(update={"id": taken.id}))
    assert await _state(store) == before
    assert await store.list_audit() == [taken]


async def test_a_failed_change_leaves_no_entry(store: SqlStore) -> None:
    job = await make_job(store, "report")
    running, _ = await store.create_execution(new_execution(job), exclusive=True)

    with pytest.raises(ConflictError):  # overlap: a run is queued
        await store.create_execution(new_execution(job), exclusive=True, audit=entry("job.run"))
    with pytest.raises(ConflictError):  # only dead-lettered executions re-run
        await store.rerun(running.id, extra_attempts=1, now=T0, audit=entry("execution.rerun"))
    with pytest.raises(NotFoundError):
        await store.delete_job("no-such-job", audit=entry("job.delete"))
    with pytest.raises(NotFoundError):
        await store.set_enabled(
            "no-such-job", True, next_fire_at=None, now=T0, audit=entry("job.enable")
        )
    await store.set_variable(None, "TOKEN", "token", secret=True, now=T0)

    def refuse(_: object) -> str:
        raise ValueError("no key decrypts it")

    with pytest.raises(ValueError):
        await store.rotate_secret_values(refuse, audit=entry("secrets.rotate"))
    with pytest.raises(ValidationError):  # one entry per item, or one for all
        await store.save_jobs(
            [(definition("one"), None), (definition("two"), None)],
            now=T0,
            audit=[entry("job.create")],
        )

    assert await store.list_audit() == []
    assert [j.name for j in await store.list_jobs()] == ["report"]
    assert (await store.get_variable(None, "TOKEN")).value == "token"  # type: ignore[union-attr]


async def test_a_call_that_changes_nothing_writes_no_entry(store: SqlStore) -> None:
    job = await make_job(store)
    await store.save_job(definition(), next_fire_at=T0, now=T0, audit=entry("job.update"))
    new = new_execution(job)
    first, created = await store.create_execution(new, audit=entry("job.run"))
    assert created
    [run_entry] = await store.list_audit()
    again, created = await store.create_execution(new, audit=entry("job.run"))  # same key
    assert (again.id, created) == (first.id, False)
    assert await store.delete_variable(None, "NOPE", audit=entry("variable.delete")) is False
    assert await store.list_audit() == [run_entry]


async def test_a_batch_save_writes_the_entries_of_the_jobs_it_changed(store: SqlStore) -> None:
    await make_job(store, "same")
    one, same, two = entry("job.create", "job:one"), entry("job.update", "job:same"), None
    results = await store.save_jobs(
        [(definition("one"), None), (definition("same"), T0), (definition("two"), None)],
        now=T0,
        audit=[one, same, two],
    )
    assert [r.change for r in results] == ["created", "unchanged", "created"]
    assert await store.list_audit() == [one]

    batch = entry("job.apply", "jobs")
    await store.save_jobs([(definition("one"), None)], now=T0, audit=batch)  # unchanged
    assert await store.list_audit() == [one]
    await store.save_jobs([(definition("three"), None)], now=T0, audit=batch)
    assert batch in await store.list_audit()


async def test_entry_and_change_are_seen_together_by_another_store(
    store_factory: Callable[[], Awaitable[SqlStore]],
) -> None:
    writer, reader = await store_factory(), await store_factory()
    audit = entry("variable.set", "variable:URL")
    await writer.set_variable(None, "URL", "x", secret=False, now=T0, audit=audit)
    assert await reader.list_audit(resource="variable:URL") == [audit]
    assert (await reader.get_variable(None, "URL")) is not None


async def test_an_entry_time_in_any_zone_reads_back_as_the_same_instant(store: SqlStore) -> None:
    hanoi = datetime(2030, 1, 2, 10, 4, 5, 678901, tzinfo=timezone(timedelta(hours=7)))
    await store.add_audit(entry(at=hanoi))
    [read] = await store.list_audit(since=T0)
    assert read.at == hanoi == T0
    assert read.at.utcoffset() == timedelta(0)

"""JobService listings on SQLite and PostgreSQL: jobs a page at a time with their stats,
a job's versions, and one version's masked definition."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from vecron.auth import LOCAL_OPERATOR
from vecron.clock import utcnow
from vecron.errors import NotFoundError, ValidationError
from vecron.models.execution import ExecutionStatus, Outcome
from vecron.runtime import Runtime
from vecron.secrets.redaction import MASK
from vecron.services.paging import collect

SECRET = "s3cr3t-token-value"


def document(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "steps": [{"id": "a", "type": "record"}], **fields}


async def save(rt: Runtime, name: str, **fields: Any) -> None:
    await rt.jobs.save(LOCAL_OPERATOR, rt.jobs.parse(document(name, **fields)))


async def end_run(rt: Runtime, name: str, status: ExecutionStatus) -> None:
    execution = (await rt.triggers.fire(LOCAL_OPERATOR, name, kind="manual")).execution
    now = utcnow()
    [claimed] = await rt.store.claim(
        [execution.id], "w", lease_until=now + timedelta(minutes=1), now=now
    )
    if status is ExecutionStatus.SUCCEEDED:
        outcome = Outcome.succeeded(claimed, now, started_at=now)
    else:
        outcome = Outcome.dead_lettered(claimed, status, now, "boom")
    assert await rt.store.record([], [outcome]) == [True]


async def test_jobs_come_a_page_at_a_time_with_their_stats(rt: Runtime) -> None:
    names = [f"job-{n:02d}" for n in range(23)]
    for name in names:
        await save(rt, name, allow_concurrent=True, enabled=name != "job-05")
    await end_run(rt, "job-01", ExecutionStatus.SUCCEEDED)
    await end_run(rt, "job-01", ExecutionStatus.SUCCEEDED)
    await end_run(rt, "job-01", ExecutionStatus.FAILED)
    await end_run(rt, "job-22", ExecutionStatus.TIMED_OUT)

    first = await rt.jobs.list_jobs(LOCAL_OPERATOR, limit=10)
    assert [j.name for j in first.items] == names[:10] and first.next_cursor
    walked = await collect(
        lambda cursor, size: rt.jobs.list_jobs(LOCAL_OPERATOR, cursor=cursor, limit=size), None
    )
    assert [j.name for j in walked] == names
    for size in (1, 7, 23, 500):
        paged = await collect(
            lambda cursor, size=size: rt.jobs.list_jobs(LOCAL_OPERATOR, cursor=cursor, limit=size),
            None,
        )
        assert paged == walked
    by_name = {j.name: j for j in walked}
    assert (by_name["job-01"].last_status, by_name["job-01"].success_rate) == (
        ExecutionStatus.FAILED,
        pytest.approx(2 / 3),
    )
    assert (by_name["job-22"].last_status, by_name["job-22"].success_rate) == (
        ExecutionStatus.TIMED_OUT,
        0.0,
    )
    assert (by_name["job-02"].last_status, by_name["job-02"].success_rate) == (None, None)
    assert by_name["job-05"].next_fire_at is None and not by_name["job-05"].enabled
    # One job shows the same stats.
    shown = await rt.jobs.get(LOCAL_OPERATOR, "job-01")
    assert (shown.last_status, shown.success_rate) == (
        by_name["job-01"].last_status,
        by_name["job-01"].success_rate,
    )

    disabled = await rt.jobs.list_jobs(LOCAL_OPERATOR, enabled=False)
    assert [j.name for j in disabled.items] == ["job-05"] and disabled.next_cursor is None
    found = await rt.jobs.list_jobs(LOCAL_OPERATOR, search="JOB-1", limit=3)
    assert [j.name for j in found.items] == ["job-10", "job-11", "job-12"]
    rest = await rt.jobs.list_jobs(LOCAL_OPERATOR, search="JOB-1", cursor=found.next_cursor)
    assert [j.name for j in rest.items] == [f"job-{n}" for n in range(13, 20)]
    with pytest.raises(ValidationError) as bad:
        await rt.jobs.list_jobs(LOCAL_OPERATOR, search="job-2", cursor=found.next_cursor)
    assert bad.value.field == "cursor"
    with pytest.raises(ValidationError) as bad:
        await rt.jobs.list_jobs(LOCAL_OPERATOR, limit=501)
    assert bad.value.field == "limit"


async def test_versions_and_one_version_masked(rt: Runtime) -> None:
    step = {"id": "call", "type": "http", "url": "http://127.0.0.1:9/a"}
    secret_step = {**step, "auth": {"type": "bearer", "token": SECRET}}
    await rt.jobs.save(LOCAL_OPERATOR, rt.jobs.parse({"name": "api", "steps": [secret_step]}))
    second = {**step, "url": "http://127.0.0.1:9/b"}
    await rt.jobs.save(
        LOCAL_OPERATOR,
        rt.jobs.parse(
            {"name": "api", "steps": [second, {"id": "more", "type": "record"}], "enabled": False}
        ),
    )
    versions = await rt.jobs.versions(LOCAL_OPERATOR, "api")
    assert [(v.version, v.current, v.enabled, v.steps) for v in versions] == [
        (1, False, True, ["call"]),
        (2, True, False, ["call", "more"]),
    ]
    assert versions[0].saved_at <= versions[1].saved_at
    first = await rt.jobs.version(LOCAL_OPERATOR, "api", 1)
    assert first.version == 1 and first.enabled and first.steps == ["call"]
    assert first.definition["steps"][0]["url"] == "http://127.0.0.1:9/a"
    assert first.definition["steps"][0]["auth"]["token"] == MASK
    assert SECRET not in first.model_dump_json()
    assert first.updated_at == versions[0].saved_at
    current = await rt.jobs.version(LOCAL_OPERATOR, "api", 2)
    shown = await rt.jobs.get(LOCAL_OPERATOR, "api")
    assert current == shown
    for missing in (0, 3):
        with pytest.raises(NotFoundError) as gone:
            await rt.jobs.version(LOCAL_OPERATOR, "api", missing)
        assert gone.value.field == "version"
    with pytest.raises(NotFoundError):
        await rt.jobs.versions(LOCAL_OPERATOR, "nope")

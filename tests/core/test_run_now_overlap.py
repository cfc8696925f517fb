"""Manual runs of a job that does not allow overlap, on SQLite and PostgreSQL: the
check "already running?" and the insert are one step, so of runs at the same instant
exactly one is created and the others are refused (HTTP 409, exit code 75)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from vecron.auth import LOCAL_OPERATOR
from vecron.errors import ConflictError
from vecron.models.definition import OverlapPolicy
from vecron.models.execution import ExecutionStatus
from vecron.runtime import Runtime
from vecron.services.views import Fired

AT_ONCE = 8


async def save(rt: Runtime, name: str, **fields: Any) -> None:
    document = {"name": name, "steps": [{"id": "a", "type": "record"}], **fields}
    await rt.jobs.save(LOCAL_OPERATOR, rt.jobs.parse(document))


async def run_at_once(rt: Runtime, name: str, **options: Any) -> list[Any]:
    """Each call's ``(execution, created)``, or the error it raised."""
    results = await asyncio.gather(
        *(
            rt.triggers.fire(LOCAL_OPERATOR, name, kind="manual", by=f"t{n}", **options)
            for n in range(AT_ONCE)
        ),
        return_exceptions=True,
    )
    return [(r.execution, r.created) if isinstance(r, Fired) else r for r in results]


async def test_runs_at_the_same_instant_of_a_no_overlap_job_create_one(rt: Runtime) -> None:
    await save(rt, "single", policy={"overlap": "skip"})
    shown = await rt.jobs.get(LOCAL_OPERATOR, "single")
    assert shown.definition["policy"]["overlap"] == OverlapPolicy.SKIP.value
    results = await run_at_once(rt, "single")
    created = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if isinstance(r, ConflictError)]
    assert len(created) == 1 and created[0][1] is True, results
    assert len(refused) == AT_ONCE - 1, results
    assert {(e.status, e.exit_code) for e in refused} == {(409, 75)}
    job = await rt.jobs.get(LOCAL_OPERATOR, "single")
    executions = await rt.store.list_executions(job_id=job.id)
    assert [e.id for e in executions] == [created[0][0].id]


async def test_runs_at_the_same_instant_of_an_overlapping_job_all_run(rt: Runtime) -> None:
    await save(rt, "many", allow_concurrent=True)
    results = await run_at_once(rt, "many")
    assert all(isinstance(r, tuple) and r[1] for r in results), results
    job = await rt.jobs.get(LOCAL_OPERATOR, "many")
    assert len(await rt.store.list_executions(job_id=job.id)) == AT_ONCE


async def test_a_retried_request_gets_its_run_back_while_the_job_is_busy(rt: Runtime) -> None:
    await save(rt, "keyed", policy={"overlap": "skip"})
    results = await run_at_once(rt, "keyed", idempotency_key="order-7")
    assert all(isinstance(r, tuple) for r in results), results
    assert len({execution.id for execution, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    [first] = [execution for execution, created in results if created]
    assert first.status is ExecutionStatus.QUEUED
    fired = await rt.triggers.fire(
        LOCAL_OPERATOR, "keyed", idempotency_key="order-7", kind="manual"
    )
    again, created = fired.execution, fired.created
    assert (again.id, created) == (first.id, False)
    with pytest.raises(ConflictError, match=f"{first.id} is queued"):
        await rt.triggers.fire(LOCAL_OPERATOR, "keyed", idempotency_key="order-8", kind="manual")

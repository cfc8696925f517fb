"""Acceptance 7: exactly once by key. Fifty concurrent ``POST /jobs/{name}/trigger`` with
one ``Idempotency-Key`` create one execution, and every answer names it; the same key with
another body is refused (422), never answered with the other request's run. On SQLite and
on PostgreSQL, whose concurrent transactions really race for the key."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.harness import PREFIX, Api, api_settings, expect_problem, served
from tests.api.world import job_document
from tests.contract.conftest import sqlite_url, store_url  # noqa: F401  (fixtures)
from tests.support.pg_fixtures import postgresql_url  # noqa: F401  (a fixture)
from vecron import LOCAL_OPERATOR

ADMIN = {"Authorization": "Bearer static-admin"}
CALLS = 50


@pytest.fixture
async def db_api(store_url: str, tmp_path: Path) -> AsyncIterator[Api]:  # noqa: F811
    """The API on a fresh database: SQLite, then PostgreSQL."""
    async with served(api_settings(tmp_path, database_url=store_url)) as api:
        rt = api.runtime
        await rt.jobs.save(LOCAL_OPERATOR, rt.jobs.parse(job_document("nightly")))
        yield api


async def executions_of(api: Api, job: str) -> list[Any]:
    page = await api.runtime.executions.list_executions(LOCAL_OPERATOR, job=job, limit=500)
    assert page.next_cursor is None
    return list(page.items)


async def trigger(api: Api, key: str, params: dict[str, Any]) -> Any:
    headers = {**ADMIN, "Idempotency-Key": key}
    return await api.client.post(
        f"{PREFIX}/jobs/nightly/trigger", json={"params": params}, headers=headers
    )


async def test_fifty_concurrent_triggers_with_one_key_make_one_execution(db_api: Api) -> None:
    params = {"day": "2026-12-07"}
    answers = await asyncio.gather(
        *(trigger(db_api, "run-2026-12-07", params) for _ in range(CALLS))
    )
    bodies = []
    for answer in answers:
        assert answer.status == 202, await answer.text()
        bodies.append(await answer.json())
    named = {body["execution_id"] for body in bodies}
    assert len(named) == 1, named
    assert sum(body["created"] for body in bodies) == 1, "exactly one answer created it"

    stored = await executions_of(db_api, "nightly")
    assert [e.id for e in stored] == list(named)

    # Asked again later, the key still names the same run and makes nothing new.
    again = await trigger(db_api, "run-2026-12-07", params)
    assert again.status == 202
    assert (await again.json()) == {"execution_id": stored[0].id, "created": False}
    assert len(await executions_of(db_api, "nightly")) == 1


async def test_the_same_key_with_another_body_is_422_and_makes_nothing(db_api: Api) -> None:
    first = await trigger(db_api, "key-1", {"day": "monday"})
    assert first.status == 202, await first.text()
    made = (await first.json())["execution_id"]

    other = await trigger(db_api, "key-1", {"day": "tuesday"})
    problem = await expect_problem(other, 422)
    assert {error["field"] for error in problem["errors"]} == {"Idempotency-Key"}
    assert made not in str(problem), "the refusal does not name the other request's run"
    assert [e.id for e in await executions_of(db_api, "nightly")] == [made]


async def test_concurrent_triggers_with_different_bodies_under_one_key(db_api: Api) -> None:
    """Half ask with one body, half with another, all at once: one execution, made for one
    of the bodies; every answer for that body names it, every other is 422."""
    asks = [{"day": "a"} if i % 2 else {"day": "b"} for i in range(20)]
    answers = await asyncio.gather(*(trigger(db_api, "contested", p) for p in asks))
    [stored] = await executions_of(db_api, "nightly")
    statuses = []
    accepted = []
    for ask, answer in zip(asks, answers, strict=True):
        statuses.append(answer.status)
        if answer.status == 202:
            assert (await answer.json())["execution_id"] == stored.id
            accepted.append(ask["day"])
        else:
            await expect_problem(answer, 422)
    assert len(set(accepted)) == 1, "only the body that made the run is answered with it"
    assert statuses.count(202) == 10 and statuses.count(422) == 10, statuses


async def test_the_trigger_policy_answers_403_and_409_as_problems(db_api: Api) -> None:
    """A manual run is judged by the job's trigger policy: a job that does not allow
    manual runs, or is disabled, is 403 ``trigger-forbidden``; a busy no-overlap job 409
    ``job-running`` naming the run that holds it. Nothing is made by a refusal."""
    rt = db_api.runtime
    cron = [{"type": "cron", "expression": "0 0 2 * * ?"}]
    await rt.jobs.save(
        LOCAL_OPERATOR,
        rt.jobs.parse(
            {**job_document("scheduled"), "triggers": cron, "policy": {"allow_manual": False}}
        ),
    )
    await rt.jobs.save(
        LOCAL_OPERATOR, rt.jobs.parse(job_document("single", allow_concurrent=False))
    )
    url = f"{PREFIX}/jobs/{{}}/trigger"
    refused = await expect_problem(
        await db_api.client.post(url.format("scheduled"), headers=ADMIN), 403, "trigger-forbidden"
    )
    assert refused["errors"][0]["code"] == "trigger-not-allowed"
    assert refused["errors"][0]["params"]["allowed"] == ["cron"]
    first = await db_api.client.post(url.format("single"), headers=ADMIN)
    assert first.status == 202, await first.text()
    held_by = (await first.json())["execution_id"]
    busy = await expect_problem(
        await db_api.client.post(url.format("single"), headers=ADMIN), 409, "conflict"
    )
    assert busy["errors"][0]["code"] == "job-running"
    assert busy["errors"][0]["params"]["execution"] == held_by
    await rt.jobs.set_enabled(LOCAL_OPERATOR, "nightly", False)
    disabled = await expect_problem(
        await db_api.client.post(url.format("nightly"), headers=ADMIN), 403, "trigger-forbidden"
    )
    assert disabled["errors"][0]["code"] == "job-disabled"
    assert await executions_of(db_api, "scheduled") == []
    assert await executions_of(db_api, "nightly") == []
    assert [e.id for e in await executions_of(db_api, "single")] == [held_by]

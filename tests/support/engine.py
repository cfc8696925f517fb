"""Run a scheduler and a worker of a Runtime in the background of a test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from vecron.auth import LOCAL_OPERATOR
from vecron.ids import new_id
from vecron.models.execution import NewExecution
from vecron.models.job import JobRecord
from vecron.runtime import Runtime
from vecron.services.views import ExecutionView


@asynccontextmanager
async def running(
    rt: Runtime, *, scheduler: bool = True, worker: bool = True
) -> AsyncIterator[asyncio.Event]:
    stop = asyncio.Event()
    tasks = []
    if scheduler:
        tasks.append(asyncio.create_task(rt.scheduler().run(stop)))
    if worker:
        tasks.append(asyncio.create_task(rt.worker().run(stop, grace=5)))
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.gather(*tasks)


def scheduled_fire(job: JobRecord, fire_time: datetime, *, created_at: datetime) -> NewExecution:
    """The execution a scheduler creates for ``job``'s fire at ``fire_time`` (made by hand,
    to put one in the store at a chosen moment)."""
    return NewExecution(
        id=new_id(),
        job_id=job.id,
        job_name=job.name,
        job_version=job.version,
        idempotency_key=f"{job.id}@{fire_time.isoformat()}",
        trigger="cron",
        triggered_by="scheduler",
        scheduled_at=fire_time,
        not_before=fire_time,
        max_attempts=3,
        created_at=created_at,
    )


async def apply(rt: Runtime, document: dict[str, Any]) -> JobRecord:
    """Save the job through its service; the stored record, definition included."""
    saved = await rt.jobs.save(LOCAL_OPERATOR, rt.jobs.parse(document))
    return await rt.store.get_job(saved.job.id)


async def run_and_wait(rt: Runtime, name: str, timeout: float = 20) -> ExecutionView:
    execution = (await rt.triggers.fire(LOCAL_OPERATOR, name, by="test", kind="manual")).execution
    return await rt.executions.wait(LOCAL_OPERATOR, execution.id, timeout=timeout, context=True)

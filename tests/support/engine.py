"""Run a scheduler and a worker of a Runtime in the background of a test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from vecron.runtime import Runtime
from vecron.services.executions import ExecutionDetail


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


async def apply(rt: Runtime, document: dict[str, Any]) -> Any:
    return (await rt.jobs.save(rt.jobs.parse(document))).job


async def run_and_wait(rt: Runtime, name: str, timeout: float = 20) -> ExecutionDetail:
    execution, _ = await rt.jobs.run_now(name, triggered_by="test")
    return await rt.executions.wait(execution.id, timeout=timeout)

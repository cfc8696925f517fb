"""Executions: show, list, wait for one to finish."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any

from vecron.clock import utcnow
from vecron.errors import NotFoundError
from vecron.execution.jobcontext import JobContextStore
from vecron.models.execution import Execution, ExecutionStatus, StepResult
from vecron.storage import ObjectStorage
from vecron.store.base import Store


@dataclass(frozen=True, slots=True)
class ExecutionDetail:
    execution: Execution
    steps: list[StepResult]
    #: The Job Context document from object storage, when there is one.
    context: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            **execution_dict(self.execution),
            "steps": [step_dict(s) for s in self.steps],
            "context_path": JobContextStore.key(self.execution.id),
            "context": self.context,
        }


def execution_dict(e: Execution) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in e.__slots__:
        value = getattr(e, name)
        out[name] = (
            value.isoformat()
            if hasattr(value, "isoformat")
            else (value.value if isinstance(value, ExecutionStatus) else value)
        )
    return out


def step_dict(s: StepResult) -> dict[str, Any]:
    return {
        "step_id": s.step_id,
        "attempt": s.attempt,
        "status": s.status.value,
        "started_at": s.started_at.isoformat(),
        "finished_at": s.finished_at.isoformat(),
        "output": s.output,
        "error": s.error,
    }


def with_outputs(steps: list[StepResult], context: dict[str, Any] | None) -> list[StepResult]:
    """The database's step results with their outputs, which only the context holds."""
    stored = context.get("steps") if isinstance(context, dict) else None
    if not isinstance(stored, dict):
        return steps
    return [
        replace(s, output=entry.get("output"))
        if isinstance(entry := stored.get(s.step_id), dict)
        else s
        for s in steps
    ]


class ExecutionService:
    def __init__(self, store: Store, storage: ObjectStorage | None = None) -> None:
        self.store = store
        self.storage = storage

    async def get(self, execution_id: str) -> ExecutionDetail:
        execution = await self.store.get_execution(execution_id)
        context = None
        if self.storage is not None:
            context = await JobContextStore(self.storage).read(execution)
        steps = await self.store.step_results(execution_id)
        return ExecutionDetail(execution, with_outputs(steps, context), context)

    async def list_executions(
        self, *, job_id: str | None = None, status: ExecutionStatus | None = None, limit: int = 50
    ) -> list[Execution]:
        return await self.store.list_executions(job_id=job_id, status=status, limit=limit)

    async def rerun(self, execution_id: str, *, extra_attempts: int | None = None) -> Execution:
        """Re-run a dead-lettered execution by hand (S5.3). It keeps its id, so every
        step keeps its idempotency key, and resumes at the step that failed; it gets the
        job's ``retry.max_attempts`` more attempts unless ``extra_attempts`` says.

        :raises ConflictError: the execution is not dead-lettered.
        """
        execution = await self.store.get_execution(execution_id)
        if extra_attempts is None:
            try:
                definition = await self.store.job_definition(
                    execution.job_id, execution.job_version
                )
                extra_attempts = definition.retry.max_attempts
            except NotFoundError:
                extra_attempts = 1
        return await self.store.rerun(execution_id, extra_attempts=extra_attempts, now=utcnow())

    async def wait(
        self, execution_id: str, *, poll: float = 0.05, timeout: float | None = None
    ) -> ExecutionDetail:
        """Until the execution is finished (or ``timeout`` seconds pass)."""
        async with asyncio.timeout(timeout):
            while True:
                execution = await self.store.get_execution(execution_id)
                if execution.status.finished:
                    return await self.get(execution_id)
                await asyncio.sleep(poll)

"""Executions: show, list, re-run a dead-lettered one, wait for one to finish."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from vecron.auth import Permission, Principal
from vecron.clock import utcnow
from vecron.errors import NotFoundError, ValidationError
from vecron.events import EventSink, ExecutionCreated, NullSink
from vecron.jobs.context import JobContextStore
from vecron.models.execution import ExecutionStatus
from vecron.services.audit import Gate
from vecron.services.views import ExecutionSummary, ExecutionView
from vecron.storage import ObjectStorage
from vecron.store.base import Store


def execution_resource(execution_id: str) -> str:
    return f"execution:{execution_id}"


def parse_status(value: str | ExecutionStatus) -> ExecutionStatus:
    """:raises ValidationError: not an execution status (the message lists them)."""
    try:
        return ExecutionStatus(value)
    except ValueError:
        raise ValidationError(
            f"unknown status {value!r}; one of: " + ", ".join(s.value for s in ExecutionStatus),
            field="status",
        ) from None


class ExecutionService:
    def __init__(
        self,
        store: Store,
        storage: ObjectStorage | None = None,
        *,
        on_change: Callable[[], None] | None = None,
        events: EventSink | None = None,
        gate: Gate | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.storage = storage
        self.on_change = on_change
        self.events: EventSink = events or NullSink()
        self.clock = clock
        self.gate = gate or Gate(store, clock=lambda: self.clock())

    async def get(
        self, principal: Principal, execution_id: str, *, context: bool = False
    ) -> ExecutionView:
        """The execution with each step's result (outputs from the Job Context) and, with
        ``context``, the whole Job Context document."""
        await self.gate.check(
            principal, Permission.EXECUTION_READ, "execution.read", execution_resource(execution_id)
        )
        return await self._view(execution_id, context=context)

    async def _view(self, execution_id: str, *, context: bool) -> ExecutionView:
        execution = await self.store.get_execution(execution_id)
        document = None
        if self.storage is not None:
            document = await JobContextStore(self.storage).read(execution)
        steps = await self.store.step_results(execution_id)
        return ExecutionView.with_steps(
            execution,
            steps,
            context_path=JobContextStore.key(execution.id),
            context=document,
            include_context=context,
        )

    async def list_executions(
        self,
        principal: Principal,
        *,
        job: str | None = None,
        status: str | ExecutionStatus | None = None,
        limit: int = 50,
    ) -> list[ExecutionSummary]:
        """Executions, newest first; only the job's (by name or id) with ``job``, only
        those in ``status`` with it.

        :raises ValidationError: an unknown status.
        :raises NotFoundError: no such job.
        """
        await self.gate.check(principal, Permission.EXECUTION_READ, "execution.list", "execution:*")
        wanted = None if status is None else parse_status(status)
        job_id = None if job is None else (await self.store.get_job(job)).id
        found = await self.store.list_executions(job_id=job_id, status=wanted, limit=limit)
        return [ExecutionSummary.of(e) for e in found]

    async def rerun(
        self, principal: Principal, execution_id: str, *, extra_attempts: int | None = None
    ) -> ExecutionSummary:
        """Re-run a dead-lettered execution by hand (S5.3). It keeps its id, so every
        step keeps its idempotency key, and resumes at the step that failed; it gets the
        job's ``retry.max_attempts`` more attempts unless ``extra_attempts`` says. The
        scheduler is woken to hand it to a worker at once.

        :raises ConflictError: the execution is not dead-lettered.
        """
        resource = execution_resource(execution_id)
        await self.gate.check(principal, Permission.JOB_EXECUTE, "execution.rerun", resource)
        execution = await self.store.get_execution(execution_id)
        if extra_attempts is None:
            try:
                definition = await self.store.job_definition(
                    execution.job_id, execution.job_version
                )
                extra_attempts = definition.retry.max_attempts
            except NotFoundError:
                extra_attempts = 1
        now = self.clock()
        again = await self.store.rerun(
            execution_id,
            extra_attempts=extra_attempts,
            now=now,
            audit=self.gate.entry(
                principal,
                "execution.rerun",
                resource,
                detail={"job": execution.job_name, "extra_attempts": extra_attempts},
            ),
        )
        self.events.emit(
            ExecutionCreated(at=now, execution_id=again.id, job_id=again.job_id, trigger="rerun")
        )
        if self.on_change is not None:
            self.on_change()
        return ExecutionSummary.of(again)

    async def wait(
        self,
        principal: Principal,
        execution_id: str,
        *,
        poll: float = 0.05,
        timeout: float | None = None,
        context: bool = False,
    ) -> ExecutionView:
        """The execution once it is finished (:func:`asyncio.timeout` after ``timeout``
        seconds), as :meth:`get` gives it."""
        await self.gate.check(
            principal, Permission.EXECUTION_READ, "execution.read", execution_resource(execution_id)
        )
        async with asyncio.timeout(timeout):
            while True:
                execution = await self.store.get_execution(execution_id)
                if execution.status.finished:
                    return await self._view(execution_id, context=context)
                await asyncio.sleep(poll)

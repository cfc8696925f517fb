"""Executions: show, list, re-run a dead-lettered one, wait for one to finish."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime

from vecron.auth import Permission, Principal
from vecron.clock import utcnow
from vecron.errors import NotFoundError, ValidationError
from vecron.events import EventSink, ExecutionCreated, ExecutionFinished, NullSink
from vecron.jobs.context import JobContextStore
from vecron.models.definition import JobDefinition
from vecron.models.execution import Execution, ExecutionStatus
from vecron.services.audit import Gate
from vecron.services.paging import DEFAULT_LIMIT, Listing, check_limit, time_position, utc_or_none
from vecron.services.views import ExecutionSummary, ExecutionView, Page
from vecron.storage import ObjectStorage
from vecron.store.base import Store

#: Made once: pydantic keeps a parametrized model only while something refers to it,
#: and making it again on every call costs most of a millisecond.
ExecutionPage = Page[ExecutionSummary]


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


#: Called when this service ends an execution (a cancel of a queued one) with its job
#: version's definition (None when gone) and the time it ended: the scheduler's
#: fixed-delay restart, :meth:`vecron.scheduling.fixed_delay.FixedDelay.finished` (a job
#: that counts from its last finish would otherwise never fire again).
AfterFinish = Callable[[Execution, JobDefinition | None, datetime], Awaitable[None]]


class ExecutionService:
    """Executions: read, list, cancel, re-run, wait for; the dead letters.

    ``on_change`` wakes the scheduler (a rerun is due at once); ``after_finish`` see
    :data:`AfterFinish`.
    """

    def __init__(
        self,
        store: Store,
        storage: ObjectStorage | None = None,
        *,
        on_change: Callable[[], None] | None = None,
        events: EventSink | None = None,
        gate: Gate | None = None,
        clock: Callable[[], datetime] = utcnow,
        after_finish: AfterFinish | None = None,
    ) -> None:
        self.store = store
        self.after_finish = after_finish
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
        async with self.store.reading():
            execution = await self.store.get_execution(execution_id)
            steps = await self.store.step_results(execution_id)
        document = None
        if self.storage is not None:
            document = await JobContextStore(self.storage).read(execution)
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
        trigger: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        cursor: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> Page[ExecutionSummary]:
        """Executions newest first by creation time (when the trigger made them; ids
        break ties), a page of at most ``limit`` (1 to 500).

        Filters: ``job`` (name or id), ``status``, ``trigger`` (the trigger kind that made
        the execution: ``cron``, ``fixed_rate``, ``manual``, ``webhook`` … — a rerun keeps
        its execution's), ``since`` (created at or after) and ``until`` (created before);
        naive datetimes are UTC. ``cursor``: the previous page's ``next_cursor``, with
        the same filters. Permission ``execution:read``.

        :raises ValidationError: an unknown status; ``limit`` out of range; a malformed
            cursor or one of another listing or other filters (field ``cursor``).
        :raises NotFoundError: no such job.
        :raises PermissionDenied: without ``execution:read``.
        """
        await self.gate.check(principal, Permission.EXECUTION_READ, "execution.list", "execution:*")
        check_limit(limit)
        wanted = None if status is None else parse_status(status)
        start, end = utc_or_none(since), utc_or_none(until)
        async with self.store.reading():
            return await self._list_executions(
                job, wanted, trigger, start, end, cursor=cursor, limit=limit
            )

    async def _list_executions(
        self,
        job: str | None,
        wanted: ExecutionStatus | None,
        trigger: str | None,
        start: datetime | None,
        end: datetime | None,
        *,
        cursor: str | None,
        limit: int,
    ) -> Page[ExecutionSummary]:
        job_id = None if job is None else (await self.store.get_job(job)).id
        listing = Listing(
            "executions",
            {
                "job": job_id,
                "status": None if wanted is None else wanted.value,
                "trigger": trigger,
                "since": None if start is None else start.isoformat(),
                "until": None if end is None else end.isoformat(),
            },
        )
        before = time_position(listing.position(cursor, 2))
        found = await self.store.list_executions(
            job_id=job_id,
            status=wanted,
            trigger=trigger,
            since=start,
            until=end,
            before=before,
            limit=limit + 1,
        )
        items, next_cursor = listing.page(
            found, limit, lambda e: (e.created_at.isoformat(), e.id), ExecutionSummary.of
        )
        return ExecutionPage(items=items, next_cursor=next_cursor)

    async def dead_letters(
        self,
        principal: Principal,
        *,
        job: str | None = None,
        cursor: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> Page[ExecutionSummary]:
        """The dead letters (S5.3): executions that failed for good and wait for a rerun
        by hand (:meth:`rerun`), the last dead-lettered first; only ``job``'s (name or
        id) with it. A page of at most ``limit`` (1 to 500); ``cursor`` as for
        :meth:`list_executions`. Permission ``execution:read``.

        :raises ValidationError: ``limit`` out of range; a bad cursor (field ``cursor``).
        :raises NotFoundError: no such job.
        :raises PermissionDenied: without ``execution:read``.
        """
        await self.gate.check(
            principal, Permission.EXECUTION_READ, "execution.dead-letters", "execution:*"
        )
        check_limit(limit)
        job_id = None if job is None else (await self.store.get_job(job)).id
        listing = Listing("dead-letters", {"job": job_id})
        before = time_position(listing.position(cursor, 2))
        found = await self.store.dead_letters(job_id=job_id, before=before, limit=limit + 1)
        items, next_cursor = listing.page(
            found,
            limit,
            lambda e: (e.dead_lettered_at.isoformat() if e.dead_lettered_at else "", e.id),
            ExecutionSummary.of,
        )
        return ExecutionPage(items=items, next_cursor=next_cursor)

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
            definition = await self._definition(execution)
            extra_attempts = 1 if definition is None else definition.retry.max_attempts
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

    async def cancel(self, principal: Principal, execution_id: str) -> ExecutionSummary:
        """Cancel an execution. A queued one (new, or waiting for a retry) is
        ``cancelled`` at once, announced as finished. A running one gets
        ``cancel_requested_at`` and stays ``running`` until the worker holding it sees
        the request at its next lease extension (a third of ``lease_seconds`` at most),
        stops its steps and records ``cancelled``. Asking again for a running one
        changes nothing. Permission ``job:execute``; audited as ``execution.cancel``.

        :raises NotFoundError: no such execution.
        :raises ConflictError: it has finished (reason ``execution-finished``).
        :raises PermissionDenied: without ``job:execute``.
        """
        resource = execution_resource(execution_id)
        await self.gate.check(principal, Permission.JOB_EXECUTE, "execution.cancel", resource)
        now = self.clock()
        execution = await self.store.cancel_execution(
            execution_id,
            now=now,
            reason=f"cancelled by {principal.subject}",
            audit=self.gate.entry(principal, "execution.cancel", resource),
        )
        if execution.status is ExecutionStatus.CANCELLED:
            self.events.emit(
                ExecutionFinished(
                    at=now,
                    execution_id=execution.id,
                    job_id=execution.job_id,
                    status=execution.status.value,
                    error=execution.error,
                )
            )
            if self.after_finish is not None:
                await self.after_finish(execution, await self._definition(execution), now)
        return ExecutionSummary.of(execution)

    async def _definition(self, execution: Execution) -> JobDefinition | None:
        """The definition ``execution`` was made with; None when its job is gone."""
        try:
            return await self.store.job_definition(execution.job_id, execution.job_version)
        except NotFoundError:
            return None

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

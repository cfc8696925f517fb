"""Cancelling an execution by hand (:meth:`Store.cancel_execution`).

A queued one (new, or waiting for a retry) is cancelled at once. A running one belongs
to the worker that holds its lease: the store only records that a cancel was asked for,
and that worker, which sees it when it next extends its leases
(:func:`vecron.store.claims.extend_leases`), stops the steps and records ``cancelled``
through the usual lease-fenced outcome. Each case is one conditional UPDATE, so a
cancel racing a claim or a finish applies to whichever state won.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from vecron.errors import ConflictError, NotFoundError
from vecron.models.execution import Execution, ExecutionStatus
from vecron.store import rows
from vecron.store.schema import executions

QUEUED = ExecutionStatus.QUEUED.value
RUNNING = ExecutionStatus.RUNNING.value


async def cancel_execution(
    conn: AsyncConnection, execution_id: str, *, now: datetime, reason: str
) -> tuple[Execution, bool]:
    """Inside the caller's write transaction; see :meth:`Store.cancel_execution`.
    The flag says whether anything changed (a repeated request for a running one did
    not)."""
    cancelled = await conn.execute(
        update(executions)
        .where(executions.c.id == execution_id, executions.c.status == QUEUED)
        .values(
            status=ExecutionStatus.CANCELLED.value,
            finished_at=now,
            error=reason,
            lease_owner=None,
            lease_expires_at=None,
        )
        .returning(*executions.c)
    )
    row = cancelled.mappings().first()
    if row is not None:
        return rows.execution(row), True
    requested = await conn.execute(
        update(executions)
        .where(
            executions.c.id == execution_id,
            executions.c.status == RUNNING,
            executions.c.cancel_requested_at.is_(None),
        )
        .values(cancel_requested_at=now)
        .returning(*executions.c)
    )
    row = requested.mappings().first()
    if row is not None:
        return rows.execution(row), True
    found = (
        (await conn.execute(select(executions).where(executions.c.id == execution_id)))
        .mappings()
        .first()
    )
    if found is None:
        raise NotFoundError(f"execution {execution_id!r} not found", reason="execution-not-found")
    execution = rows.execution(found)
    if execution.status is ExecutionStatus.RUNNING:  # asked before: nothing new
        return execution, False
    raise ConflictError(
        f"execution {execution_id!r} is {execution.status.value}: it has finished, there is "
        "nothing to cancel",
        reason="execution-finished",
        params={"status": execution.status.value},
    )

"""Workers' claims and leases, and the executions whose claim lapsed (the reconciler's)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import and_, func, literal, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from vecron.models.execution import Execution, ExecutionStatus
from vecron.store import rows
from vecron.store.schema import executions
from vecron.store.statements import chunks
from vecron.store.timestamp import UtcDateTime

QUEUED = ExecutionStatus.QUEUED.value
RUNNING = ExecutionStatus.RUNNING.value


def unique(items: Iterable[str]) -> list[str]:
    return sorted(set(items))


async def claim(
    conn: AsyncConnection,
    ids: Sequence[str],
    owner: str,
    *,
    lease_until: datetime,
    now: datetime,
) -> list[Execution]:
    """Inside the caller's write transaction; see :meth:`Store.claim`. In ``ids`` order."""
    claimed: list[Execution] = []
    for chunk in chunks(unique(ids)):
        found = await conn.execute(
            update(executions)
            .where(
                executions.c.id.in_(chunk),
                or_(
                    executions.c.status == QUEUED,
                    and_(executions.c.status == RUNNING, executions.c.lease_expires_at < now),
                ),
            )
            .values(
                status=RUNNING,
                lease_owner=owner,
                lease_expires_at=lease_until,
                attempt=executions.c.attempt + 1,
                started_at=func.coalesce(executions.c.started_at, literal(now, UtcDateTime())),
            )
            .returning(*executions.c)
        )
        claimed.extend(rows.execution(row) for row in found.mappings())
    order = {execution_id: index for index, execution_id in enumerate(ids)}
    claimed.sort(key=lambda execution: order[execution.id])
    return claimed


async def extend_leases(
    conn: AsyncConnection, ids: Sequence[str], owner: str, lease_until: datetime
) -> set[str]:
    """Inside the caller's write transaction; the ids of those extended that someone
    asked to cancel (:mod:`vecron.store.cancels`)."""
    cancel: set[str] = set()
    for chunk in chunks(unique(ids)):
        extended = await conn.execute(
            update(executions)
            .where(
                executions.c.id.in_(chunk),
                executions.c.lease_owner == owner,
                executions.c.status == RUNNING,
            )
            .values(lease_expires_at=lease_until)
            .returning(executions.c.id, executions.c.cancel_requested_at)
        )
        cancel.update(execution_id for execution_id, asked in extended if asked is not None)
    return cancel


async def stranded(
    conn: AsyncConnection, *, now: datetime, unclaimed_before: datetime, limit: int
) -> list[Execution]:
    """See :meth:`Store.stranded`."""
    query = (
        select(executions)
        .where(
            or_(
                and_(executions.c.status == RUNNING, executions.c.lease_expires_at < now),
                and_(
                    executions.c.status == QUEUED,
                    executions.c.published == true(),
                    executions.c.not_before < unclaimed_before,
                ),
            )
        )
        .order_by(executions.c.not_before)
        .limit(limit)
    )
    return [rows.execution(row) for row in (await conn.execute(query)).mappings()]

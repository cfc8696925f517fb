"""The outbox: queued executions not yet handed to the queue, and when to look again."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Select, String, false, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Update

from vecron.models.execution import Execution, ExecutionStatus
from vecron.store.schema import executions, jobs
from vecron.store.statements import RowSource, Statements

QUEUED = ExecutionStatus.QUEUED.value


def pending_publish_query(horizon: datetime, limit: int) -> Select[Any]:
    """Queued, unpublished executions due by ``horizon``, earliest first."""
    return (
        select(executions)
        .where(
            executions.c.status == QUEUED,
            executions.c.published == false(),
            executions.c.not_before <= horizon,
        )
        .order_by(executions.c.not_before, executions.c.id)
        .limit(limit)
    )


def next_wakeup_query() -> Select[Any]:
    """One row: the earliest enabled ``next_fire_at`` and the earliest unpublished
    ``not_before`` (either may be NULL)."""
    next_fire = select(func.min(jobs.c.next_fire_at)).where(jobs.c.enabled).scalar_subquery()
    next_publish = (
        select(func.min(executions.c.not_before))
        .where(executions.c.status == QUEUED, executions.c.published == false())
        .scalar_subquery()
    )
    return select(next_fire, next_publish)


async def mark_published(
    conn: AsyncConnection, statements: Statements, published: Sequence[Execution]
) -> None:
    """Inside the caller's write transaction; see :meth:`Store.mark_published`."""
    data = sorted({(e.id, e.attempt) for e in published})
    await statements.update_each(
        conn, [("id", String()), ("attempt", Integer())], data, _mark_published
    )


def _mark_published(row: RowSource) -> Update:
    # Only the attempt that was published: a worker may already have claimed it and put
    # it back for a retry, which must stay unpublished so the retry is sent.
    return (
        update(executions)
        .where(
            executions.c.id == row["id"],
            executions.c.attempt == row["attempt"],
            executions.c.status == QUEUED,
        )
        .values(published=True)
    )

"""How much work waits and runs: the store's side of the shared-state gauges.

One statement of four counts, each a range scan of an index (``status`` leads
``ix_executions_status_newest`` and ``ix_executions_publish``; the dead letters have
their partial index), so a scrape costs the same however long the history is.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, ScalarSelect, false, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from vecron.models.execution import ExecutionStatus
from vecron.store.base import Backlog
from vecron.store.schema import executions


def _count(*where: ColumnElement[bool]) -> ScalarSelect[int]:
    return select(func.count()).select_from(executions).where(*where).scalar_subquery()


async def backlog(conn: AsyncConnection) -> Backlog:
    """See :meth:`Store.backlog`."""
    status = executions.c.status
    queued = status == ExecutionStatus.QUEUED.value
    row = (
        await conn.execute(
            select(
                _count(queued),
                _count(queued, executions.c.published == false()),
                _count(status == ExecutionStatus.RUNNING.value),
                _count(executions.c.dead_lettered_at.is_not(None)),
            )
        )
    ).one()
    return Backlog(queued=row[0], unpublished=row[1], running=row[2], dead_letters=row[3])

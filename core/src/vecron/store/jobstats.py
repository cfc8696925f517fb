"""What job lists show beside each job: its last finished run and its recent success rate.

Computed for one page of jobs at a time, in one query: a correlated lookup of each job's
latest finished execution and a count of its recent runs, both range scans of the
partial index ``ix_executions_job_finished`` (finished executions only, by job and
``finished_at``), so the cost follows the page's jobs, not the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, Select, bindparam, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from vecron.models.execution import ExecutionStatus
from vecron.store.base import JobStats
from vecron.store.schema import executions, jobs
from vecron.store.statements import chunks
from vecron.store.timestamp import UtcDateTime

#: The runs a success rate counts: those that ran to an end. A skipped (overlap) or a
#: cancelled execution never did, and says nothing of whether the job works.
RAN_TO_AN_END = (
    ExecutionStatus.SUCCEEDED.value,
    ExecutionStatus.FAILED.value,
    ExecutionStatus.TIMED_OUT.value,
)


async def job_stats(
    conn: AsyncConnection, job_ids: Sequence[str], *, since: datetime
) -> dict[str, JobStats]:
    """See :meth:`Store.job_stats`; one query per chunk of ids (a page is one chunk)."""
    found: dict[str, JobStats] = {}
    for chunk in chunks(sorted(set(job_ids))):
        rows = await conn.execute(STATS_QUERY, {"ids": list(chunk), "since": since})
        for job_id, status, ran, succeeded in rows:
            found[job_id] = JobStats(
                last_status=None if status is None else ExecutionStatus(status),
                ran=int(ran or 0),
                succeeded=int(succeeded or 0),
            )
    return found


def stats_query() -> Select[Any]:
    """Per job of the ids bound as ``ids``: its last finished status, and how many of its
    executions finished at or after ``since`` ran to an end and how many of those
    succeeded."""
    ids: BindParameter[str] = bindparam("ids", expanding=True)
    finished = executions.c.finished_at.is_not(None)  # the partial index's predicate
    last_status = (
        select(executions.c.status)
        .where(executions.c.job_id == jobs.c.id, finished)
        .order_by(executions.c.finished_at.desc())
        .limit(1)
        .correlate(jobs)
        .scalar_subquery()
    )
    succeeded = case((executions.c.status == ExecutionStatus.SUCCEEDED.value, 1), else_=0)
    recent = (
        select(
            executions.c.job_id,
            func.count().label("ran"),
            func.sum(succeeded).label("succeeded"),
        )
        .where(
            executions.c.job_id.in_(ids),
            finished,
            executions.c.finished_at >= bindparam("since", type_=UtcDateTime()),
            executions.c.status.in_(RAN_TO_AN_END),
        )
        .group_by(executions.c.job_id)
        .subquery()
    )
    return (
        select(jobs.c.id, last_status.label("last_status"), recent.c.ran, recent.c.succeeded)
        .select_from(jobs.outerjoin(recent, recent.c.job_id == jobs.c.id))
        .where(jobs.c.id.in_(ids))
    )


#: Built once (building it is most of the cost of a small page); values are bound.
STATS_QUERY = stats_query()

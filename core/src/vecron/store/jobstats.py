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

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from vecron.models.execution import ExecutionStatus
from vecron.store.base import JobStats
from vecron.store.schema import executions, jobs
from vecron.store.statements import chunks

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
        for job_id, status, ran, succeeded in await conn.execute(stats_query(chunk, since)):
            found[job_id] = JobStats(
                last_status=None if status is None else ExecutionStatus(status),
                ran=int(ran or 0),
                succeeded=int(succeeded or 0),
            )
    return found


def stats_query(job_ids: Sequence[str], since: datetime) -> Select[Any]:
    """Per job of ``job_ids``: its last finished status, and how many of its executions
    finished since ``since`` ran to an end and how many of those succeeded."""
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
            executions.c.job_id.in_(job_ids),
            finished,
            executions.c.finished_at >= since,
            executions.c.status.in_(RAN_TO_AN_END),
        )
        .group_by(executions.c.job_id)
        .subquery()
    )
    return (
        select(jobs.c.id, last_status.label("last_status"), recent.c.ran, recent.c.succeeded)
        .select_from(jobs.outerjoin(recent, recent.c.job_id == jobs.c.id))
        .where(jobs.c.id.in_(job_ids))
    )

"""Enabling, disabling, deleting and rescheduling a job (its saving is in ``saving``).

Each function runs inside the caller's write transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, update
from sqlalchemy.ext.asyncio import AsyncConnection

from vecron.errors import NotFoundError
from vecron.models.execution import ExecutionStatus
from vecron.models.job import JobRecord
from vecron.store import rows
from vecron.store import variables as variables_module
from vecron.store.schema import executions, job_versions, jobs
from vecron.store.statements import bump_revision

QUEUED = ExecutionStatus.QUEUED.value
CANCELLED = ExecutionStatus.CANCELLED.value


async def cancel_queued(
    conn: AsyncConnection, job_id: str, *, reason: str, only_unstarted: bool, now: datetime
) -> None:
    condition = and_(executions.c.job_id == job_id, executions.c.status == QUEUED)
    if only_unstarted:
        condition = and_(condition, executions.c.started_at.is_(None))
    await conn.execute(
        update(executions)
        .where(condition)
        .values(
            status=CANCELLED,
            finished_at=now,
            error=reason,
            lease_owner=None,
            lease_expires_at=None,
        )
    )


async def delete_job(conn: AsyncConnection, job_id: str, *, now: datetime) -> None:
    """Delete the job, its versions and variables; cancel its queued executions.

    :raises NotFoundError:
    """
    deleted = await conn.execute(delete(jobs).where(jobs.c.id == job_id))
    if deleted.rowcount == 0:
        raise NotFoundError(f"job {job_id!r} not found")
    await conn.execute(delete(job_versions).where(job_versions.c.job_id == job_id))
    await variables_module.delete_job_variables(conn, job_id)
    await cancel_queued(conn, job_id, reason="job deleted", only_unstarted=False, now=now)
    await bump_revision(conn)


async def set_enabled(
    conn: AsyncConnection,
    job_id: str,
    enabled: bool,
    *,
    next_fire_at: datetime | None,
    now: datetime,
    cancelled_at: datetime,
) -> JobRecord:
    """:raises NotFoundError:"""
    row = (
        (
            await conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id)
                .values(enabled=enabled, next_fire_at=next_fire_at, updated_at=now)
                .returning(*jobs.c)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFoundError(f"job {job_id!r} not found")
    if not enabled:
        await cancel_queued(
            conn, job_id, reason="job disabled", only_unstarted=True, now=cancelled_at
        )
    await bump_revision(conn)
    return rows.job_record(row)


async def set_next_fire(
    conn: AsyncConnection,
    job_id: str,
    next_fire_at: datetime | None,
    *,
    last_finished_at: datetime | None,
) -> None:
    values: dict[str, Any] = {"next_fire_at": next_fire_at}
    if last_finished_at is not None:
        values["last_finished_at"] = last_finished_at
    await conn.execute(update(jobs).where(jobs.c.id == job_id).values(**values))
    await bump_revision(conn)

"""Executions made outside a scheduler tick: a manual run (:meth:`Store.create_execution`)
and a re-run of a dead-lettered one (:meth:`Store.rerun`).

An ``exclusive`` insert (a job with ``overlap: skip``) must not race another: the check
"no active execution" and the insert happen in one write transaction that first locks
the job's row — ``SELECT ... FOR UPDATE`` on PostgreSQL, where a second caller waits on
the lock and then, under READ COMMITTED, sees the first one's execution; on SQLite the
transaction holds the database write lock from ``BEGIN IMMEDIATE``, so writers are
already one at a time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from vecron.errors import ConflictError, NotFoundError
from vecron.models.execution import ACTIVE_STATUSES, Execution, ExecutionStatus, NewExecution
from vecron.models.overlap import holds_job
from vecron.store import rows
from vecron.store.schema import executions, jobs
from vecron.store.statements import Statements, bump_revision


async def create_execution(
    conn: AsyncConnection, statements: Statements, new: NewExecution, *, exclusive: bool
) -> tuple[Execution, bool]:
    """Inside the caller's write transaction; see :meth:`Store.create_execution`."""
    if exclusive:
        locked = await conn.execute(
            select(jobs.c.id).where(jobs.c.id == new.job_id).with_for_update()
        )
        if locked.first() is None:
            raise NotFoundError(f"job {new.job_name!r} not found")
        # The key first: a retried request gets its own run back, even while it runs.
        existing = (await conn.execute(_with_key(new.idempotency_key))).mappings().first()
        if existing is not None:
            return rows.execution(existing), False
        await _refuse_overlap(conn, new)
    created = (
        (
            await conn.execute(
                statements.insert(executions)
                .values(
                    **rows.new_execution_values(new),
                    request_fingerprint=new.request_fingerprint,
                    trigger_data=dict(new.trigger_data) or None,
                )
                .on_conflict_do_nothing(index_elements=["idempotency_key"])
                .returning(*executions.c)
            )
        )
        .mappings()
        .first()
    )
    if created is None:  # the key is taken
        raced = (await conn.execute(_with_key(new.idempotency_key))).mappings().one()
        return rows.execution(raced), False
    # Lets a scheduler in another process notice it has something to publish.
    await bump_revision(conn)
    return rows.execution(created), True


def _with_key(key: str) -> Select[Any]:
    return select(executions).where(executions.c.idempotency_key == key)


async def _refuse_overlap(conn: AsyncConnection, new: NewExecution) -> None:
    """Refuse ``new`` while an execution holds its job (:mod:`vecron.models.overlap`)."""
    found = await conn.execute(
        select(
            executions.c.id,
            executions.c.status,
            executions.c.started_at,
            executions.c.scheduled_at,
        ).where(
            executions.c.job_id == new.job_id,
            executions.c.status.in_(sorted(s.value for s in ACTIVE_STATUSES)),
        )
    )
    active = next(
        (
            row
            for row in found
            if holds_job(ExecutionStatus(row.status), row.started_at, row.scheduled_at)
        ),
        None,
    )
    if active is not None:
        raise ConflictError(
            f"job {new.job_name!r} is already running (execution {active.id} is "
            f"{active.status}) and does not allow overlap",
            hint="wait for it to finish, or set policy.overlap: allow",
            reason="job-running",
            params={"execution": active.id, "status": active.status},
        )


async def rerun(
    conn: AsyncConnection, execution_id: str, *, extra_attempts: int, now: datetime
) -> Execution:
    """Inside the caller's write transaction; see :meth:`Store.rerun`."""
    result = await conn.execute(
        update(executions)
        .where(executions.c.id == execution_id, executions.c.dead_lettered_at.is_not(None))
        .values(
            status=ExecutionStatus.QUEUED.value,
            dead_lettered_at=None,
            finished_at=None,
            error=None,
            lease_owner=None,
            lease_expires_at=None,
            not_before=now,
            published=False,
            cancel_requested_at=None,
            max_attempts=executions.c.attempt + extra_attempts,
        )
        .returning(*executions.c)
    )
    row = result.mappings().first()
    if row is None:
        exists = (
            await conn.execute(select(executions.c.status).where(executions.c.id == execution_id))
        ).scalar_one_or_none()
        if exists is None:
            raise NotFoundError(f"execution {execution_id!r} not found")
        raise ConflictError(
            f"execution {execution_id!r} is {exists}, not dead-lettered; only those re-run"
        )
    await bump_revision(conn)
    return rows.execution(row)

"""Applying a batch of scheduler decisions (:meth:`Store.apply_fires`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Update

from vecron.models.execution import Execution, ExecutionStatus, NewExecution
from vecron.store import rows
from vecron.store.base import AppliedFires, JobFires
from vecron.store.schema import executions, jobs, occurrences
from vecron.store.statements import RowSource, Statements, chunks
from vecron.store.timestamp import UtcDateTime


async def apply_fires(
    conn: AsyncConnection,
    statements: Statements,
    fires: Sequence[JobFires],
    recorded_at: datetime,
) -> AppliedFires:
    """Inside the caller's write transaction; returns the executions created."""
    current: dict[str, datetime | None] = {}
    for chunk in chunks(sorted({fire.job_id for fire in fires})):
        found = await conn.execute(
            select(jobs.c.id, jobs.c.next_fire_at)
            .where(jobs.c.id.in_(chunk))
            .order_by(jobs.c.id)
            .with_for_update()
        )
        # dict.update(found) would take the Result for a mapping (it has keys()).
        current.update((job_id, moment) for job_id, moment in found)
    stored = dict(current)

    applied: list[JobFires] = []
    for fire in fires:
        if fire.job_id in current and current[fire.job_id] == fire.expected_next_fire_at:
            applied.append(fire)
            # A later decision for the same job in this batch must expect this one's.
            current[fire.job_id] = fire.new_next_fire_at
    if not applied:
        return AppliedFires()

    moved = {fire.job_id for fire in applied}

    def move(row: RowSource) -> Update:
        return (
            jobs.update()
            .where(jobs.c.id == row["id"], jobs.c.next_fire_at == row["expected"])
            .values(next_fire_at=row["new"])
        )

    await statements.update_each(
        conn,
        [("id", String()), ("expected", UtcDateTime()), ("new", UtcDateTime())],
        [(job_id, stored[job_id], current[job_id]) for job_id in sorted(moved)],
        move,
    )

    wanted = [new for fire in applied for new in fire.executions]
    created: list[Execution] = []
    if wanted:
        inserted = await conn.execute(
            statements.insert(executions)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(executions.c.id),
            [rows.new_execution_values(new) for new in wanted],
        )
        new_ids = set(inserted.scalars())
        created = [_created(new) for new in wanted if new.id in new_ids]

    ledger = [
        rows.occurrence_values(occurrence, recorded_at)
        for fire in applied
        for occurrence in fire.occurrences
    ]
    if ledger:
        await conn.execute(
            statements.insert(occurrences).on_conflict_do_nothing(
                index_elements=["job_id", "fire_time"]
            ),
            ledger,
        )
    return AppliedFires(created, applied)


def _created(new: NewExecution) -> Execution:
    """The row just inserted, without reading it back."""
    scheduled_at = new.scheduled_at.astimezone(UTC) if new.scheduled_at is not None else None
    return Execution(
        id=new.id,
        job_id=new.job_id,
        job_name=new.job_name,
        job_version=new.job_version,
        idempotency_key=new.idempotency_key,
        trigger=new.trigger,
        triggered_by=new.triggered_by,
        scheduled_at=scheduled_at,
        not_before=new.not_before.astimezone(UTC),
        status=ExecutionStatus.QUEUED,
        attempt=0,
        max_attempts=new.max_attempts,
        created_at=new.created_at.astimezone(UTC),
        params=dict(new.params),
    )

"""Alerting's state per job (:meth:`Store.advance_alerts`): read under the write lock,
advanced by the caller's pure step, written back in the same transaction."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from sqlalchemy import Integer, String, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Update

from vecron.models.alerts import AlertState
from vecron.store.schema import alert_states
from vecron.store.statements import RowSource, Statements, chunks
from vecron.store.timestamp import UtcDateTime

#: The caller's step: every job's state before, to every job's state after.
AlertStep = Callable[[Mapping[str, AlertState]], Mapping[str, AlertState]]


async def advance(
    conn: AsyncConnection, statements: Statements, job_ids: Sequence[str], step: AlertStep
) -> None:
    """Inside the caller's write transaction. Rows are locked in job id order, so two
    processes advancing the same jobs wait for each other instead of deadlocking; the
    second sees the first's streak."""
    ordered = sorted(set(job_ids))
    if not ordered:
        return
    insert = statements.insert(alert_states)
    await conn.execute(
        insert.on_conflict_do_nothing(index_elements=["job_id"]),
        [{"job_id": job_id, "streak": 0} for job_id in ordered],
    )
    before: dict[str, AlertState] = {}
    for chunk in chunks(ordered):
        found = await conn.execute(
            select(alert_states)
            .where(alert_states.c.job_id.in_(chunk))
            .order_by(alert_states.c.job_id)
            .with_for_update()
        )
        for row in found.mappings():
            before[row["job_id"]] = AlertState(
                streak=row["streak"], alerted_at=row["alerted_at"], notified_at=row["notified_at"]
            )
    after = step(before)
    changed = [
        (job_id, state) for job_id, state in sorted(after.items()) if before.get(job_id) != state
    ]
    if not changed:
        return
    await statements.update_each(
        conn,
        [
            ("job_id", String()),
            ("streak", Integer()),
            ("alerted_at", UtcDateTime()),
            ("notified_at", UtcDateTime()),
        ],
        [(j, s.streak, s.alerted_at, s.notified_at) for j, s in changed],
        _write_state,
    )


def _write_state(row: RowSource) -> Update:
    return (
        alert_states.update()
        .where(alert_states.c.job_id == row["job_id"])
        .values(streak=row["streak"], alerted_at=row["alerted_at"], notified_at=row["notified_at"])
    )

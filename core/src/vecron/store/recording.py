"""Recording how attempts ended (:meth:`Store.record`), fenced by lease owner and attempt."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Update
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine

from vecron.models.execution import ExecutionStatus, OccurrenceStatus, Outcome, StepResult
from vecron.store import rows
from vecron.store.schema import executions, jobs, occurrences, step_results
from vecron.store.statements import RowSource, Statements, bump_revision, chunks
from vecron.store.timestamp import UtcDateTime

RUNNING = ExecutionStatus.RUNNING.value
_STEP_FIELDS = ("attempt", "status", "started_at", "finished_at", "error")


@dataclass(slots=True)
class _Held:
    """What deciding an outcome needs to know about its execution."""

    job_id: str
    status: str
    owner: str | None
    attempt: int


async def upsert_step_results(
    conn: AsyncConnection,
    statements: Statements,
    results: Sequence[StepResult],
    seqs: Sequence[int],
) -> None:
    insert = statements.insert(step_results)
    await conn.execute(
        insert.on_conflict_do_update(
            index_elements=["execution_id", "step_id"],
            # ``seq`` is left alone: a step keeps the place it was first recorded at.
            set_={name: insert.excluded[name] for name in _STEP_FIELDS},
        ),
        [rows.step_result_values(result, seq) for result, seq in zip(results, seqs, strict=True)],
    )


async def apply_outcomes(
    conn: AsyncConnection, statements: Statements, outcomes: Sequence[Outcome]
) -> list[bool]:
    """Inside the caller's write transaction; says which outcomes applied."""
    held: dict[str, _Held] = {}
    for chunk in chunks(sorted({outcome.execution_id for outcome in outcomes})):
        found = await conn.execute(
            select(
                executions.c.id,
                executions.c.job_id,
                executions.c.status,
                executions.c.lease_owner,
                executions.c.attempt,
            )
            .where(executions.c.id.in_(chunk))
            .order_by(executions.c.id)
            .with_for_update()
        )
        for execution_id, job_id, status, owner, attempt in found:
            held[execution_id] = _Held(job_id, status, owner, attempt)

    applied = [False] * len(outcomes)
    finished: list[tuple[Any, ...]] = []
    retries: list[tuple[Any, ...]] = []
    last_finished: dict[str, datetime] = {}
    for index, outcome in enumerate(outcomes):
        state = held.get(outcome.execution_id)
        if (
            state is None
            or state.status != RUNNING
            or state.owner != outcome.owner
            or state.attempt != outcome.attempt
        ):
            continue
        applied[index] = True
        state.status = outcome.status.value  # so a second outcome in the batch is stale
        fence = (outcome.execution_id, outcome.owner, outcome.attempt)
        if outcome.status is ExecutionStatus.QUEUED:
            retries.append(
                (
                    *fence,
                    outcome.not_before or outcome.at,
                    outcome.error,
                    outcome.started_at,
                    int(outcome.refund_attempt),
                )
            )
        else:
            dead = outcome.at if outcome.dead_letter else None
            finished.append(
                (*fence, outcome.status.value, outcome.at, outcome.error, dead, outcome.started_at)
            )
            latest = last_finished.get(state.job_id)
            if latest is None or outcome.at > latest:
                last_finished[state.job_id] = outcome.at

    fence_columns: list[tuple[str, TypeEngine[Any]]] = [
        ("id", String()),
        ("owner", String()),
        ("attempt", Integer()),
    ]
    await statements.update_each(
        conn,
        [
            *fence_columns,
            ("status", String()),
            ("at", UtcDateTime()),
            ("error", Text()),
            ("dead", UtcDateTime()),
            ("started", UtcDateTime()),
        ],
        finished,
        _finish,
    )
    await statements.update_each(
        conn,
        [("id", String()), ("at", UtcDateTime())],
        sorted(last_finished.items()),
        _stamp_last_finished,
    )
    await statements.update_each(
        conn,
        [
            *fence_columns,
            ("not_before", UtcDateTime()),
            ("error", Text()),
            ("started", UtcDateTime()),
            ("refund", Integer()),
        ],
        retries,
        _requeue,
    )
    skipped = [
        (o.execution_id, o.error or "overlap")
        for o, ok in zip(outcomes, applied, strict=True)
        if ok and o.status is ExecutionStatus.SKIPPED
    ]
    await statements.update_each(
        conn, [("id", String()), ("reason", Text())], skipped, _ledger_skipped
    )
    if retries:
        await bump_revision(conn)
    return applied


def _held_by(row: RowSource) -> ColumnElement[bool]:
    return and_(
        executions.c.id == row["id"],
        executions.c.lease_owner == row["owner"],
        executions.c.attempt == row["attempt"],
        executions.c.status == RUNNING,
    )


def _started(row: RowSource) -> ColumnElement[Any]:
    """The attempt's real start when the worker reports one (it claims a little early)."""
    return func.coalesce(row["started"], executions.c.started_at)


def _finish(row: RowSource) -> Update:
    return (
        executions.update()
        .where(_held_by(row))
        .values(
            status=row["status"],
            finished_at=row["at"],
            error=row["error"],
            lease_expires_at=None,
            dead_lettered_at=row["dead"],
            started_at=_started(row),
        )
    )


def _ledger_skipped(row: RowSource) -> Update:
    # The fire was planned as fired; the overlap policy turned it into a skip at start.
    return (
        occurrences.update()
        .where(occurrences.c.execution_id == row["id"])
        .values(status=OccurrenceStatus.SKIPPED.value, reason=row["reason"])
    )


def _stamp_last_finished(row: RowSource) -> Update:
    return (
        jobs.update()
        .where(
            jobs.c.id == row["id"],
            or_(jobs.c.last_finished_at.is_(None), jobs.c.last_finished_at < row["at"]),
        )
        .values(last_finished_at=row["at"])
    )


def _requeue(row: RowSource) -> Update:
    return (
        executions.update()
        .where(_held_by(row))
        .values(
            status=ExecutionStatus.QUEUED.value,
            not_before=row["not_before"],
            error=row["error"],
            lease_owner=None,
            lease_expires_at=None,
            published=False,
            started_at=_started(row),
            attempt=executions.c.attempt - row["refund"],
        )
    )

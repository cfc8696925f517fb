"""Queries over what happened: executions, their step results, the occurrence ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, text

from vecron.models.execution import ExecutionStatus
from vecron.store.base import Position
from vecron.store.schema import DEAD_LETTERED, executions, occurrences, step_results
from vecron.store.statements import keyset_before


def executions_query(
    *,
    job_id: str | None,
    status: ExecutionStatus | None,
    limit: int,
    trigger: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before: Position | None = None,
) -> Select[Any]:
    """Newest first by ``(created_at, id)`` (ids, UUIDv7, break ties of one instant),
    from just before ``before`` when given; ``since`` inclusive, ``until`` exclusive.

    With or without a job and a status, a page is a range scan of one of the
    ``ix_executions_*newest`` indexes (the filter's columns, then ``created_at, id``),
    walked backwards and stopped after ``limit`` rows.
    """
    query = select(executions)
    if job_id is not None:
        query = query.where(executions.c.job_id == job_id)
    if status is not None:
        query = query.where(executions.c.status == status.value)
    if trigger is not None:
        query = query.where(executions.c.trigger == trigger)
    if since is not None:
        query = query.where(executions.c.created_at >= since)
    if until is not None:
        query = query.where(executions.c.created_at < until)
    if before is not None:
        query = query.where(keyset_before(executions.c.created_at, executions.c.id, before))
    return query.order_by(executions.c.created_at.desc(), executions.c.id.desc()).limit(limit)


def dead_letters_query(*, job_id: str | None, before: Position | None, limit: int) -> Select[Any]:
    """Dead-lettered executions, last dead-lettered first by ``(dead_lettered_at, id)``:
    a range scan of a partial index that holds only them."""
    query = select(executions).where(text(f"executions.{DEAD_LETTERED}"))
    if job_id is not None:
        query = query.where(executions.c.job_id == job_id)
    if before is not None:
        query = query.where(keyset_before(executions.c.dead_lettered_at, executions.c.id, before))
    return query.order_by(executions.c.dead_lettered_at.desc(), executions.c.id.desc()).limit(limit)


def step_results_query(execution_id: str) -> Select[Any]:
    """In the order the steps were first recorded."""
    return (
        select(step_results)
        .where(step_results.c.execution_id == execution_id)
        .order_by(step_results.c.seq, step_results.c.step_id)
    )


def occurrences_query(job_id: str, limit: int) -> Select[Any]:
    """The ledger of one job, newest fire time first."""
    return (
        select(occurrences)
        .where(occurrences.c.job_id == job_id)
        .order_by(occurrences.c.fire_time.desc())
        .limit(limit)
    )

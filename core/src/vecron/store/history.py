"""Queries over what happened: executions, their step results, the occurrence ledger."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from vecron.models.execution import ExecutionStatus
from vecron.store.schema import executions, occurrences, step_results


def executions_query(
    *, job_id: str | None, status: ExecutionStatus | None, limit: int
) -> Select[Any]:
    """Newest first (ids, UUIDv7, break ties of one instant)."""
    query = select(executions)
    if job_id is not None:
        query = query.where(executions.c.job_id == job_id)
    if status is not None:
        query = query.where(executions.c.status == status.value)
    return query.order_by(executions.c.created_at.desc(), executions.c.id.desc()).limit(limit)


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

"""The overlap policy (S1.6): one rule for every way an execution of a job begins.

A job with ``policy.overlap: skip`` runs one execution at a time. An execution *holds*
such a job from the moment it is admitted until it ends:

- a run made outside the schedule — manual, webhook, rerun — is admitted when it is
  created (the store refuses it then if the job is held: ``create_execution(exclusive=)``);
- a scheduled run is admitted when it first starts: the scheduler creates it up to its
  look-ahead before the fire time, when whether the job will still be busy is not known
  yet, so the worker judges it as it starts it;
- between two attempts (waiting for a retry, or handed back at shutdown) a run still
  holds the job: it has not ended.

So a new run is refused while any execution holds the job, and an execution starting is
skipped when another execution holding the job comes before it in :func:`start_order`.
Both questions count the same executions (:func:`holds`). The scheduler asks neither:
the fires it plans are judged when they start.

This module is a leaf (models only): the store applies the rule inside the insert's
transaction, the worker when it starts an execution.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from vecron.models.definition import JobDefinition, OverlapPolicy
from vecron.models.execution import Execution, ExecutionStatus

#: The error of an execution the rule ended (its ledger reason too).
SKIPPED_REASON = "another execution was running"


def exclusive(definition: JobDefinition) -> bool:
    """Does the job run one execution at a time?"""
    return definition.policy.overlap is OverlapPolicy.SKIP


def holds(execution: Execution) -> bool:
    """Does ``execution`` keep its job busy: admitted and not ended?"""
    return holds_job(execution.status, execution.started_at, execution.scheduled_at)


def holds_job(
    status: ExecutionStatus, started_at: datetime | None, scheduled_at: datetime | None
) -> bool:
    """:func:`holds` from the columns alone (the store reads no more of a row)."""
    if status is ExecutionStatus.RUNNING:
        return True
    if status is not ExecutionStatus.QUEUED:
        return False
    # Queued: between attempts (it started before), or admitted at creation (no fire time).
    return started_at is not None or scheduled_at is None


def start_order(execution: Execution) -> tuple[datetime, datetime, str]:
    """The order in which executions of one job began: a run admitted at its creation
    (manual, webhook: no fire time) began then, whenever a worker claims it; a scheduled
    one when it was claimed (a worker claims it a little before its fire time);
    executions claimed together by their fire time, then id."""
    began = execution.created_at if execution.scheduled_at is None else execution.started_at
    return (
        began or execution.created_at,
        execution.scheduled_at or execution.created_at,
        execution.id,
    )


def held_by(execution: Execution, others: Iterable[Execution]) -> Execution | None:
    """The execution that keeps ``execution`` from starting: the first of ``others``
    that holds the job and began before it; None when it may run."""
    first = start_order(execution)
    blockers = [
        other
        for other in others
        if other.id != execution.id and holds(other) and start_order(other) < first
    ]
    return min(blockers, key=start_order, default=None)

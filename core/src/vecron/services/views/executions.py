"""Views of executions: a summary for lists, and one execution with its steps and context."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from vecron.models.execution import Execution, ExecutionStatus, StepResult, StepStatus


class ExecutionSummary(BaseModel):
    """One run of one job version, without its steps (execution lists)."""

    model_config = ConfigDict(frozen=True)

    id: str
    job_id: str
    job_name: str
    job_version: int
    idempotency_key: str
    trigger: str
    """``cron``, ``fixed_rate``, ``manual``, ``webhook`` …"""
    triggered_by: str | None
    scheduled_at: datetime | None
    """The fire time, for scheduled runs."""
    not_before: datetime
    status: ExecutionStatus
    attempt: int
    """Attempts started so far."""
    max_attempts: int
    created_at: datetime
    params: dict[str, Any]
    started_at: datetime | None
    finished_at: datetime | None
    lease_owner: str | None
    """The worker that holds it while it runs."""
    lease_expires_at: datetime | None
    error: str | None
    dead_lettered_at: datetime | None
    cancel_requested_at: datetime | None = None
    """When someone asked to cancel it while it ran; its worker cancels it at its next
    lease extension."""

    @classmethod
    def of(cls, execution: Execution) -> ExecutionSummary:
        return cls.model_validate(execution, from_attributes=True)


class StepView(BaseModel):
    """One finished step; its output comes from the Job Context (the database has none)."""

    model_config = ConfigDict(frozen=True)

    step_id: str
    attempt: int
    status: StepStatus
    started_at: datetime
    finished_at: datetime
    output: dict[str, Any] | None
    error: str | None

    @classmethod
    def of(cls, result: StepResult, context: Mapping[str, Any] | None = None) -> StepView:
        """``result`` with its output from ``context`` when the context has the step."""
        view = cls.model_validate(result, from_attributes=True)
        stored = context.get("steps") if context is not None else None
        entry = stored.get(result.step_id) if isinstance(stored, dict) else None
        if isinstance(entry, dict):
            return view.model_copy(update={"output": entry.get("output")})
        return view


class ExecutionView(ExecutionSummary):
    """One execution with each step's result, and its Job Context when asked for.

    ``context`` is the whole document (trigger data, every step's output) as kept in
    object storage at ``context_path``; None when not asked for or not written yet.
    """

    steps: list[StepView]
    context_path: str
    context: dict[str, Any] | None = None

    @classmethod
    def with_steps(
        cls,
        execution: Execution,
        steps: Sequence[StepResult],
        *,
        context_path: str,
        context: dict[str, Any] | None,
        include_context: bool,
    ) -> ExecutionView:
        return cls(
            **ExecutionSummary.of(execution).model_dump(),
            steps=[StepView.of(s, context) for s in steps],
            context_path=context_path,
            context=context if include_context else None,
        )


class Fired(BaseModel):
    """What a trigger started (:meth:`TriggerService.fire`): the execution, and whether
    this call created it (False: the idempotency key named one made before)."""

    model_config = ConfigDict(frozen=True)

    execution: ExecutionSummary
    created: bool

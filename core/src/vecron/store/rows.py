"""Conversions between table rows and the domain models."""

from __future__ import annotations

import json
from collections import OrderedDict
from datetime import datetime
from typing import Any

from sqlalchemy.engine import RowMapping

from vecron.models.definition import JobDefinition
from vecron.models.execution import (
    Execution,
    ExecutionStatus,
    NewExecution,
    Occurrence,
    OccurrenceStatus,
    StepResult,
    StepStatus,
)
from vecron.models.job import JobRecord
from vecron.store.base import NewOccurrence


def definition_json(definition: JobDefinition) -> dict[str, Any]:
    return definition.model_dump(mode="json")


#: Definitions already validated, by (job id, version): a version's definition never
#: changes (a new definition is a new version; ids are never reused), and validating one
#: is a fifth of what listing a page of jobs costs. Bounded; the oldest entries go first.
_DEFINITIONS: OrderedDict[tuple[str, int], JobDefinition] = OrderedDict()
DEFINITION_CACHE_SIZE = 4096


def job_definition(job_id: str, version: int, data: Any) -> JobDefinition:
    """Version ``version`` of job ``job_id`` from its stored JSON ``data`` (decoded, or
    still text: see ``schema.JOB_READ_COLUMNS``)."""
    key = (job_id, version)
    found = _DEFINITIONS.get(key)
    if found is None:
        if isinstance(data, str | bytes):
            data = json.loads(data)
        found = _DEFINITIONS[key] = JobDefinition.model_validate(data)
        if len(_DEFINITIONS) > DEFINITION_CACHE_SIZE:
            _DEFINITIONS.popitem(last=False)
    else:
        _DEFINITIONS.move_to_end(key)
    return found


def job_record(row: RowMapping) -> JobRecord:
    return JobRecord(
        id=row["id"],
        name=row["name"],
        enabled=bool(row["enabled"]),
        version=row["version"],
        definition=job_definition(row["id"], row["version"], row["definition"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        next_fire_at=row["next_fire_at"],
        last_finished_at=row["last_finished_at"],
    )


def execution(row: RowMapping) -> Execution:
    return Execution(
        id=row["id"],
        job_id=row["job_id"],
        job_name=row["job_name"],
        job_version=row["job_version"],
        idempotency_key=row["idempotency_key"],
        trigger=row["trigger"],
        triggered_by=row["triggered_by"],
        scheduled_at=row["scheduled_at"],
        not_before=row["not_before"],
        status=ExecutionStatus(row["status"]),
        attempt=row["attempt"],
        max_attempts=row["max_attempts"],
        created_at=row["created_at"],
        params=row["params"] or {},
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        lease_owner=row["lease_owner"],
        lease_expires_at=row["lease_expires_at"],
        error=row["error"],
        dead_lettered_at=row["dead_lettered_at"],
        published=bool(row["published"]),
        request_fingerprint=row["request_fingerprint"],
        cancel_requested_at=row["cancel_requested_at"],
        trigger_data=row.get("trigger_data") or {},
    )


def new_execution_values(new: NewExecution) -> dict[str, Any]:
    return {
        "id": new.id,
        "job_id": new.job_id,
        "job_name": new.job_name,
        "job_version": new.job_version,
        "idempotency_key": new.idempotency_key,
        "trigger": new.trigger,
        "triggered_by": new.triggered_by,
        "scheduled_at": new.scheduled_at,
        "not_before": new.not_before,
        "status": ExecutionStatus.QUEUED.value,
        "attempt": 0,
        "max_attempts": new.max_attempts,
        "created_at": new.created_at,
        "params": dict(new.params),
        "published": False,
        # started_at, finished_at, lease_*, error, dead_lettered_at: NULL by omission,
        # which spares binding four timestamps per row on the hot path.
    }


def step_result(row: RowMapping) -> StepResult:
    return StepResult(
        execution_id=row["execution_id"],
        step_id=row["step_id"],
        attempt=row["attempt"],
        status=StepStatus(row["status"]),
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        error=row["error"],
    )


def step_result_values(result: StepResult, seq: int) -> dict[str, Any]:
    return {
        "execution_id": result.execution_id,
        "step_id": result.step_id,
        "seq": seq,
        "attempt": result.attempt,
        "status": result.status.value,
        "started_at": result.started_at,
        "finished_at": result.finished_at,
        "error": result.error,
    }


def occurrence(row: RowMapping) -> Occurrence:
    return Occurrence(
        job_id=row["job_id"],
        fire_time=row["fire_time"],
        status=OccurrenceStatus(row["status"]),
        recorded_at=row["recorded_at"],
        reason=row["reason"],
        execution_id=row["execution_id"],
    )


def occurrence_values(new: NewOccurrence, recorded_at: datetime) -> dict[str, Any]:
    return {
        "job_id": new.job_id,
        "fire_time": new.fire_time,
        "status": new.status.value,
        "reason": new.reason,
        "execution_id": new.execution_id,
        "recorded_at": recorded_at,
    }

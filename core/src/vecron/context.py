"""The Job Context: what one execution knows — its trigger, every step's output — kept
in object storage at ``executions/{id}/context.json`` after every step (S2.3).

Step outputs live only here; the database records which steps finished. So the
context is written *before* the database records a step as done: a resumed execution
always finds the outputs of the steps it skips. Concurrent writes of many executions
go to storage together, so a burst costs a few storage calls, not one per step.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from .batcher import Batcher
from .models.execution import Execution, StepResult
from .storage import ObjectStorage
from .templates import mask

#: Context documents written per storage call.
BATCH = 200


def context_key(execution_id: str) -> str:
    return f"executions/{execution_id}/context.json"


def trigger_data(execution: Execution) -> dict[str, Any]:
    return {
        "type": execution.trigger,
        "by": execution.triggered_by,
        "fire_time": execution.scheduled_at.isoformat() if execution.scheduled_at else None,
        "params": dict(execution.params),
    }


def execution_data(execution: Execution) -> dict[str, Any]:
    return {
        "id": execution.id,
        "job": execution.job_name,
        "job_id": execution.job_id,
        "job_version": execution.job_version,
        "attempt": execution.attempt,
        "scheduled_at": execution.scheduled_at.isoformat() if execution.scheduled_at else None,
        "created_at": execution.created_at.isoformat(),
    }


def step_data(result: StepResult) -> dict[str, Any]:
    return {
        "status": result.status.value,
        "output": result.output,
        "error": result.error,
        "attempt": result.attempt,
        "started_at": result.started_at.isoformat(),
        "finished_at": result.finished_at.isoformat(),
    }


def build_context(
    execution: Execution, steps: Mapping[str, StepResult], *, status: str | None = None
) -> dict[str, Any]:
    """The whole document for ``execution`` with the step results known so far."""
    return {
        "execution": {**execution_data(execution), "status": status or execution.status.value},
        "trigger": trigger_data(execution),
        "steps": {step_id: step_data(result) for step_id, result in steps.items()},
    }


class ContextWriter:
    """Writes context documents to storage, batching the writes of concurrent steps."""

    def __init__(self, storage: ObjectStorage) -> None:
        self.storage = storage
        self._batcher: Batcher[tuple[str, bytes], None] = Batcher(self._put, max_size=BATCH)

    async def _put(self, items: Sequence[tuple[str, bytes]]) -> list[None]:
        await self.storage.put_many(items)
        return [None] * len(items)

    async def write(
        self, execution_id: str, document: dict[str, Any], secrets: Collection[str] = ()
    ) -> None:
        """Store ``document`` (secrets masked) as the execution's context.

        :raises Exception: whatever the storage backend raised; nothing was recorded.
        """
        masked = mask(document, secrets) if secrets else document
        data = json.dumps(masked, default=str).encode()
        await self._batcher.submit((context_key(execution_id), data))

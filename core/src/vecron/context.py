"""The Job Context: what one execution knows — its trigger, every step's output — kept
in object storage at ``executions/{id}/context.json`` after every step (S2.3).

The database holds each step's result and is what a resumed execution reads; the
context document is the durable, complete view for people and tools, kept after
success and failure. It is written in the background, newest snapshot per execution
first, so a burst of executions never waits on storage.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Collection, Mapping
from typing import Any

from .models.execution import Execution, StepResult
from .storage import ObjectStorage
from .telemetry import get_logger
from .templates import mask

log = get_logger("vecron.context")

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
    """Writes context snapshots to storage in the background; the newest one of an
    execution replaces an older one still waiting."""

    def __init__(self, storage: ObjectStorage, *, writers: int = 1, settle: float = 0.25) -> None:
        self.storage = storage
        self._pending: dict[str, dict[str, Any]] = {}
        self._ready = asyncio.Event()
        self._writers = writers
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._settle = settle

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._run()) for _ in range(self._writers)]

    def save(
        self, execution_id: str, document: dict[str, Any], secrets: Collection[str] = ()
    ) -> None:
        self._pending[execution_id] = mask(document, secrets) if secrets else document
        self._ready.set()

    async def _run(self) -> None:
        while True:
            if not self._pending:
                if self._closing:
                    return
                self._ready.clear()
                await self._ready.wait()
                if not self._closing:
                    # Let a burst of executions finish first: snapshots of the same
                    # execution coalesce, and storage work stays off the burst's path.
                    await asyncio.sleep(self._settle)
                continue
            batch = [self._pending.popitem() for _ in range(min(BATCH, len(self._pending)))]
            items = [
                (context_key(execution_id), json.dumps(document, default=str).encode())
                for execution_id, document in batch
            ]
            try:
                await self.storage.put_many(items)
            except Exception as exc:  # the database still has every step result
                log.warning("could not save job contexts", count=len(items), error=str(exc)[:300])

    async def close(self) -> None:
        """Write what is pending, then stop."""
        self._closing = True
        self._ready.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._tasks)

"""The Job Context: what one execution knows — its trigger, every step's output — kept
in object storage (S2.3), read and written only through :class:`JobContextStore`.

Step outputs live only here; the database records which steps finished. So a step's
output is written *before* the database records the step as done: a resumed execution
always finds the outputs of the steps it skips. Each step but the last writes its own
object; the whole document is written when the execution ends or fails (keys:
:mod:`vecron.storage.layout`). What is written grows linearly with the number of steps
(rewriting the whole document after every step grew with its square). Concurrent writes
of many executions go to storage together, so a burst costs a few storage calls, not
one per step.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any

from vecron.batcher import Batcher
from vecron.errors import NotFoundError, VecronError
from vecron.models.execution import Execution, StepResult
from vecron.storage import ObjectStorage
from vecron.storage.layout import context_key, step_key, steps_prefix
from vecron.templates import mask

#: Context documents written per storage call.
BATCH = 200


#: The keys of the Job Context's ``trigger`` that vecron fills itself; what an event
#: trigger hands over (:attr:`Execution.trigger_data`) goes beside them, never over them.
TRIGGER_KEYS = frozenset({"type", "by", "fire_time", "params"})


def trigger_data(execution: Execution) -> dict[str, Any]:
    """The ``trigger`` namespace: who fired and why, and what an event trigger handed
    over (a webhook's ``payload``, ``query``, ``headers``), read by templates under the
    kind's name too (``{{ webhook.payload.order_id }}``)."""
    return {
        **execution.trigger_data,
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


class JobContextStore:
    """Reads and writes the Job Context of executions; writes of concurrent steps are
    batched into one storage call."""

    def __init__(self, storage: ObjectStorage) -> None:
        self.storage = storage
        self._batcher: Batcher[tuple[str, bytes], None] = Batcher(self._put, max_size=BATCH)

    @staticmethod
    def key(execution_id: str) -> str:
        """Where the whole document of ``execution_id`` is kept."""
        return context_key(execution_id)

    # -- read -----------------------------------------------------------------------
    async def read(self, execution: Execution) -> dict[str, Any] | None:
        """The execution's Job Context as far as it was written, or None when nothing was.

        The whole document when the execution ended, with the entries of steps written
        on their own since (a retry after a failure, or a run still going) merged in.
        """
        storage = self.storage
        try:
            stored = await storage.get_json(context_key(execution.id))
        except NotFoundError:
            stored = None
        document: dict[str, Any] | None = stored if isinstance(stored, dict) else None
        if document is not None and document.get("execution", {}).get("status") == "succeeded":
            return document  # written last, with every step: nothing newer exists
        prefix = steps_prefix(execution.id)
        entries = await storage.list(prefix)
        if not entries:
            return document
        merged = document or build_context(execution, {})
        steps = dict(merged.get("steps") or {})
        for entry in entries:
            step_id = entry.key.removeprefix(prefix).removesuffix(".json")
            if step_id not in steps:
                try:
                    steps[step_id] = await storage.get_json(entry.key)
                except NotFoundError:  # removed meanwhile
                    continue
        return {**merged, "steps": steps}

    async def outputs(
        self, execution: Execution, done: Mapping[str, StepResult]
    ) -> dict[str, StepResult]:
        """``done`` (steps the database records as finished) with their outputs, which
        only the context holds. The context is written before a step is recorded as
        done, so a done step missing here means storage lost it: it is left out."""
        try:
            document = await self.read(execution)
        except VecronError:
            return {}
        stored = document.get("steps", {}) if isinstance(document, dict) else {}
        return {
            sid: replace(result, output=stored[sid].get("output"))
            for sid, result in done.items()
            if isinstance(stored.get(sid), dict)
            and stored[sid].get("status") == result.status.value
        }

    # -- write ----------------------------------------------------------------------
    async def write(
        self,
        execution: Execution,
        steps: Mapping[str, StepResult],
        secrets: Collection[str] = (),
        *,
        status: str | None = None,
    ) -> None:
        """Store the whole document (secrets masked) with ``steps``.

        :raises Exception: whatever the storage backend raised; nothing was recorded.
        """
        document = build_context(execution, steps, status=status)
        await self._submit(context_key(execution.id), document, secrets)

    async def write_step(
        self, execution_id: str, result: StepResult, secrets: Collection[str] = ()
    ) -> None:
        """Store one finished step's entry (secrets masked) on its own.

        :raises Exception: whatever the storage backend raised; nothing was recorded.
        """
        await self._submit(step_key(execution_id, result.step_id), step_data(result), secrets)

    async def _submit(self, key: str, document: Any, secrets: Collection[str]) -> None:
        masked = mask(document, secrets) if secrets else document
        await self._batcher.submit((key, json.dumps(masked, default=str).encode()))

    async def _put(self, items: Sequence[tuple[str, bytes]]) -> list[None]:
        await self.storage.put_many(items)
        return [None] * len(items)

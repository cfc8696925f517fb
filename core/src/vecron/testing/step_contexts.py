"""Step contexts for tests: realistic defaults, any field overridable."""

from __future__ import annotations

from typing import Any

from vecron.ids import new_id
from vecron.plugin.executor import StepContext
from vecron.plugin.files import ExecutionFiles
from vecron.storage.base import ObjectStorage


def make_step_context(storage: ObjectStorage | None = None, **overrides: Any) -> StepContext:
    """A :class:`~vecron.plugin.executor.StepContext` for one step of a fresh execution.

    Defaults: new execution and job ids, job ``contract-job``, step ``step``, attempt 1,
    not scheduled, a 30 s timeout. Pass any field to override it. With ``storage``
    (e.g. ``FileStorage(tmp_path)``), ``files`` is the execution's files in it.
    """
    fields: dict[str, Any] = {
        "execution_id": new_id(),
        "job_id": new_id(),
        "job_name": "contract-job",
        "step_id": "step",
        "attempt": 1,
        "scheduled_at": None,
        "timeout": 30.0,
    }
    fields.update(overrides)
    if storage is not None and "files" not in overrides:
        fields["files"] = ExecutionFiles(storage, fields["execution_id"])
    return StepContext(**fields)

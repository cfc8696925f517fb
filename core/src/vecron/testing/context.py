"""Step contexts for tests: realistic defaults, any field overridable."""

from __future__ import annotations

from typing import Any

from vecron.executor import StepContext
from vecron.ids import new_id


def make_step_context(**overrides: Any) -> StepContext:
    """A :class:`~vecron.executor.StepContext` for one step of a fresh execution.

    Defaults: new execution and job ids, job ``contract-job``, step ``step``, attempt 1,
    not scheduled, a 30 s timeout. Pass any field to override it.
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
    return StepContext(**fields)

"""The executor contract: what a step type must do."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class ExecutorConfig(BaseModel):
    """Base of every executor's ``Config`` model.

    Unknown fields are errors. Mark a field secret by typing it ``pydantic.SecretStr``:
    vecron masks such fields in ``job show``, logs and exports.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class StepContext:
    """What an executor knows about the step it runs."""

    execution_id: str
    job_id: str
    job_name: str
    step_id: str
    attempt: int
    scheduled_at: datetime | None
    timeout: float | None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def idempotency_key(self) -> str:
        """Stable across retries of this step, so a target can de-duplicate (S4.1)."""
        return f"{self.execution_id}:{self.step_id}"


class Executor(metaclass=ABCMeta):
    """Runs one step type.

    One instance serves every step of its kind in a worker process, concurrently, so
    ``run`` must not keep per-call state on ``self``. Rules for implementers:

    - return a JSON-serialisable mapping: it becomes the step's output;
    - raise :class:`vecron.errors.RetryableError` for transient failures and
      :class:`vecron.errors.FinalError` for ones another attempt cannot fix; any other
      exception counts as retryable;
    - honour cancellation: the worker cancels ``run`` when the step times out.
    """

    kind: ClassVar[str]
    Config: ClassVar[type[ExecutorConfig]]

    async def start(self, exit_stack: AsyncExitStack) -> None:  # noqa: B027 - optional hook
        """Open shared resources (sessions, pools); push their cleanup onto ``exit_stack``."""

    def target(self, config: Any) -> str | None:
        """What a step with ``config`` calls, for the circuit breaker: e.g.
        ``https://api.example.com:443`` or a database host — never credentials. None (the
        default) keeps the step out of any breaker."""
        return None

    @abstractmethod
    async def run(self, ctx: StepContext, config: Any) -> Mapping[str, Any]:
        """Run one step with its validated ``config`` (an instance of ``Config``).

        :raises vecron.errors.StepError: the step failed; ``retryable`` says if it may
            succeed on another attempt.
        """

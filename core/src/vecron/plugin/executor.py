"""The executor contract: what a step type must do."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic

from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema
from typing_extensions import TypeVar

from vecron.plugin.egress import EgressPolicy, default_egress
from vecron.secrets.redaction import EXCERPT_CHARS, excerpt, mask

if TYPE_CHECKING:
    from vecron.plugin.files import ExecutionFiles


class ExecutorConfig(BaseModel):
    """Base of every executor's ``Config`` model.

    Unknown fields are errors. Mark a field secret by typing it ``pydantic.SecretStr``:
    vecron masks such fields in ``job show``, logs and exports. The model's docstring is
    the step type's description in the job JSON Schema, and each field's ``description``
    the field's: give both.
    """

    # Infinity and NaN are no numbers a step can use: "timeout: .inf" is a typo, not a wish.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


#: An executor's Config class. Its default makes a bare ``Executor`` mean "an executor of
#: some Config", so code that handles every step type needs no type argument.
ConfigT = TypeVar("ConfigT", bound=ExecutorConfig, default=ExecutorConfig)


class BoundSql(BaseModel):
    """SQL text and the values bound to its placeholders (S2.5).

    Type a config field ``BoundSql`` and list it in :attr:`Executor.sql_fields`: the
    worker then replaces every ``{{ expression }}`` in that field with a named
    placeholder ``:p0``, ``:p1``… and puts the rendered values in ``params``, so a
    template value can never become SQL text. Pass both to ``sqlalchemy.text(text)``
    and ``execute(…, params)``. A plain string (no template) validates as
    ``BoundSql(text=…)``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str
    params: dict[str, Any] = {}

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        return {"text": value} if isinstance(value, str) else value

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # What a job document holds (and the dashboard's form edits) is the SQL text.
        return {
            "type": "string",
            "description": "SQL; each {{ expression }} becomes a bound parameter, never text",
        }


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
    #: The execution's files in object storage (``executions/<id>/files/``); None
    #: only where no storage is configured.
    files: ExecutionFiles | None = None
    #: Where the step may connect: ask :meth:`~vecron.plugin.egress.EgressPolicy.check` before
    #: connecting to a host, and connect to the addresses it returns.
    egress: EgressPolicy = field(default_factory=default_egress)
    #: The execution's secret values. The worker masks outputs and errors, but only an
    #: executor can mask a text before cutting or encoding it: use :meth:`excerpt` and
    #: :meth:`mask` for that.
    secrets: frozenset[str] = frozenset()

    def mask(self, value: Any) -> Any:
        """``value`` (text, bytes as UTF-8, or a structure of them) with every secret
        masked, in every spelling vecron knows: call it before encoding a text."""
        return mask(value, self.secrets)

    def excerpt(self, text: str, limit: int = EXCERPT_CHARS) -> str:
        """``text`` masked, on one line and cut to ``limit`` characters, to quote in an
        error: cut first, it could keep half a secret that no longer reads as one."""
        return excerpt(text, self.secrets, limit)

    @property
    def idempotency_key(self) -> str:
        """Stable across retries of this step, so a target can de-duplicate (S4.1)."""
        return f"{self.execution_id}:{self.step_id}"


class Executor(Generic[ConfigT], metaclass=ABCMeta):
    """Runs one step type; generic over its ``Config``: ``class Shout(Executor[ShoutConfig])``.

    One instance serves every step of its kind in a worker process, concurrently, so
    ``run`` must not keep per-call state on ``self``. Rules for implementers:

    - return a JSON-serialisable mapping: it becomes the step's output;
    - raise :class:`vecron.errors.RetryableError` for transient failures and
      :class:`vecron.errors.FinalError` for ones another attempt cannot fix; any other
      exception counts as retryable;
    - honour cancellation: the worker cancels ``run`` when the step times out, and
      nothing ``run`` started (a task, a child process) may outlive it.
    """

    kind: ClassVar[str]
    #: The step's pydantic model, the class named in ``Executor[...]``. Set on the class,
    #: never per instance (a ClassVar cannot hold a type variable, hence the plain
    #: annotation).
    Config: type[ConfigT]
    #: Top-level Config fields typed :class:`BoundSql`: their templates become bound
    #: parameters, never text.
    sql_fields: ClassVar[frozenset[str]] = frozenset()

    async def start(self, exit_stack: AsyncExitStack) -> None:
        """Open shared resources (sessions, pools); push their cleanup onto ``exit_stack``."""

    def target(self, config: ConfigT) -> str | None:
        """What a step with ``config`` calls, for the circuit breaker: e.g.
        ``https://api.example.com:443`` or a database host — never credentials. None (the
        default) keeps the step out of any breaker."""
        return None

    @abstractmethod
    async def run(self, ctx: StepContext, config: ConfigT) -> Mapping[str, Any]:
        """Run one step with its ``config``, already validated: an instance of ``Config``
        with every template rendered. Never validate it again.

        :raises vecron.errors.StepError: the step failed; ``retryable`` says if it may
            succeed on another attempt.
        """

"""A job definition: the one JSON/YAML document a user writes (S2.1).

This module holds the generic, plugin-independent shape. Step and trigger configs are
kept as plain mappings here; :mod:`vecron.jobs.documents` validates them against the
installed plugins' ``Config`` models.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from vecron.models.alerts import AlertRules
from vecron.models.bounds import MAX_SECONDS, Instant, PositiveSeconds, Seconds
from vecron.models.dst import DstFold, DstGap

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
#: The top-level shorthand for ``policy.overlap`` (S1.6).
ALLOW_CONCURRENT = "allow_concurrent"
STEP_ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class RetryPolicy(_Strict):
    """Exponential backoff with jitter between attempts (S5.3).

    Attempt ``n`` (1-based) that fails waits ``min(max_delay, delay * factor**(n-1))``
    seconds, spread by ``± jitter`` (a fraction), before attempt ``n+1``.
    """

    max_attempts: int = Field(10, ge=1, le=1000, description="Attempts in all, first included.")
    delay: Seconds = Field(5.0, description="Seconds before the second attempt.")
    factor: float = Field(3.0, ge=1, le=1000, description="Growth of the delay per attempt.")
    max_delay: Seconds = Field(1800.0, description="Cap on one delay, seconds.")
    jitter: float = Field(0.2, ge=0, le=1, description="Random spread, fraction of the delay.")
    budget: PositiveSeconds | None = Field(
        None, description="Seconds from the fire time after which no retry starts."
    )

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based), never more
        than ``max_delay`` plus its jitter, whatever the attempt number."""
        grown = self.delay
        for _ in range(max(0, attempt - 1)):  # stop growing at the cap: no float overflow
            if grown >= self.max_delay:
                break
            grown *= self.factor
        base = min(self.max_delay, grown)
        spread = base * self.jitter
        return min(float(MAX_SECONDS), max(0.0, base + (rng or random).uniform(-spread, spread)))


class MisfirePolicy(StrEnum):
    """What to do with fire times missed while no scheduler ran (S1.4)."""

    SKIP = "skip"
    RUN_ONCE = "run_once"
    RUN_ALL = "run_all"


class OverlapPolicy(StrEnum):
    """What a fire does when the job already has an execution queued or running (S1.6)."""

    ALLOW = "allow"
    SKIP = "skip"


class SchedulePolicy(_Strict):
    """One policy object for every way a job is started (S13.3)."""

    misfire: MisfirePolicy = MisfirePolicy.RUN_ONCE
    misfire_grace: Seconds = Field(
        60.0, description="A fire this many seconds late or less still runs normally."
    )
    run_all_cap: int = Field(100, ge=1, le=10_000, description="Most missed fires `run_all` runs.")
    overlap: OverlapPolicy = OverlapPolicy.ALLOW
    jitter: Seconds = Field(0.0, description="Spread each start by up to this many seconds.")
    allow_manual: bool = Field(
        True,
        description="Runs by hand (CLI, API, dashboard) may start the job; false: only "
        "its triggers do.",
    )


class DstPolicy(_Strict):
    """How wall-clock schedules behave on DST transition nights (S13.2)."""

    gap: DstGap = DstGap.SHIFT
    fold: DstFold = DstFold.FIRST


class TriggerSpec(_Strict):
    """``{"type": "cron", "expression": "0 */5 * * * ?"}``: the type plus its config."""

    type: str
    config: dict[str, Any] = Field(default_factory=dict)


class StepSpec(_Strict):
    """One step: an id, the executor ``type`` and that executor's config."""

    id: str = Field(pattern=STEP_ID_PATTERN)
    type: str
    name: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=10_000)
    timeout: PositiveSeconds | None = Field(
        None, description="Seconds; the step is cancelled after."
    )
    when: str | None = Field(
        None, description="A condition over the Job Context; false skips the step."
    )
    config: dict[str, Any] = Field(default_factory=dict)


def _allow_concurrent_schema(schema: dict[str, Any]) -> None:
    schema.setdefault("properties", {})[ALLOW_CONCURRENT] = {
        "type": "boolean",
        "description": "Shorthand for policy.overlap: false is skip, true is allow.",
    }


def _field_error(field: str, kind: str, message: str, value: Any) -> PydanticValidationError:
    """A validation error located at the top-level ``field``."""
    details = InitErrorDetails(type=PydanticCustomError(kind, message), loc=(field,), input=value)
    return PydanticValidationError.from_exception_data("JobDefinition", [details])


def _expand_allow_concurrent(data: dict[str, Any]) -> dict[str, Any]:
    """``allow_concurrent`` (S1.6) folded into ``policy.overlap``, the one stored form."""
    data = dict(data)
    allow = data.pop(ALLOW_CONCURRENT)
    if not isinstance(allow, bool):
        raise _field_error(ALLOW_CONCURRENT, "bool_type", "must be true or false", allow)
    wanted = OverlapPolicy.ALLOW if allow else OverlapPolicy.SKIP
    policy = data.get("policy", {})
    if isinstance(policy, SchedulePolicy):
        given = policy.overlap.value if "overlap" in policy.model_fields_set else None
        data["policy"] = policy.model_copy(update={"overlap": wanted})
    elif isinstance(policy, Mapping):
        given = policy.get("overlap")
        data["policy"] = {**policy, "overlap": wanted.value}
    else:
        return data  # not an object: the policy field reports it
    if given is not None and given != wanted.value:
        raise _field_error(
            ALLOW_CONCURRENT,
            "contradiction",
            f"{str(allow).lower()} contradicts policy.overlap {given!r}; give only one",
            allow,
        )
    return data


class JobDefinition(_Strict):
    """The normalised job document. Times are aware; ``timezone`` is an IANA name.

    ``allow_concurrent`` (S1.6) is accepted on input as a shorthand for
    ``policy.overlap`` and is not kept: the stored document holds ``policy.overlap``.
    """

    model_config = ConfigDict(json_schema_extra=_allow_concurrent_schema)

    @model_validator(mode="before")
    @classmethod
    def _shorthands(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and ALLOW_CONCURRENT in data:
            return _expand_allow_concurrent(dict(data))
        return data

    name: str = Field(pattern=NAME_PATTERN)
    description: str = Field("", max_length=10_000)
    enabled: bool = True
    timezone: str
    triggers: list[TriggerSpec]
    steps: list[StepSpec] = Field(min_length=1)
    timeout: PositiveSeconds | None = Field(None, description="Seconds for the whole execution.")
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    policy: SchedulePolicy = Field(default_factory=SchedulePolicy)
    dst: DstPolicy = Field(default_factory=DstPolicy)
    start_at: Instant | None = None
    end_at: Instant | None = None
    tags: list[Annotated[str, Field(max_length=100)]] = Field(default_factory=list, max_length=100)
    alerts: AlertRules | None = Field(
        None, description="When to alert about this job; left out: the settings' [alerts]."
    )

    def document(self) -> dict[str, Any]:
        """The user-facing document: step and trigger configs inlined again."""
        data = self.model_dump(mode="json", exclude_none=True)
        data["triggers"] = [{"type": t.type, **t.config} for t in self.triggers]
        data["steps"] = [
            {
                k: v
                for k, v in {**s.model_dump(mode="json", exclude={"config"}), **s.config}.items()
                if v is not None
            }
            for s in self.steps
        ]
        return data

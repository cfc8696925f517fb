"""Executors and triggers are generic over their Config: the registry holds them to it, and
the job JSON Schema describes each type with its Config's docstring."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pytest
from pydantic import Field

from vecron import (
    Executor,
    ExecutorConfig,
    Registry,
    StepContext,
    Trigger,
    TriggerConfig,
    TriggerState,
)
from vecron.errors import PluginError
from vecron.jobs.documents import json_schema


class PingConfig(ExecutorConfig):
    """Answers pong: the description users see in the job schema."""

    loud: bool = Field(False, description="Shout it.")


class OtherConfig(ExecutorConfig):
    """Another step type's config."""


class PingExecutor(Executor[PingConfig]):
    """Developer notes about the implementation, not for users."""

    kind = "ping"
    Config = PingConfig

    async def run(self, ctx: StepContext, config: PingConfig) -> Mapping[str, Any]:
        return {"pong": "PONG" if config.loud else "pong"}


class LouderConfig(PingConfig):
    """A subclass of the declared Config is still a PingConfig."""


class LouderExecutor(PingExecutor):
    kind = "louder"
    Config = LouderConfig


class MismatchedExecutor(Executor[PingConfig]):
    kind = "mismatched"
    Config = OtherConfig  # type: ignore[assignment]

    async def run(self, ctx: StepContext, config: PingConfig) -> Mapping[str, Any]:
        return {}


class NeverConfig(TriggerConfig):
    """Never fires."""


class NeverTrigger(Trigger[NeverConfig]):
    kind = "never"
    Config = NeverConfig
    scheduled = False

    def next_fire_time(self, after: datetime, state: TriggerState) -> None:
        return None


class MismatchedTrigger(Trigger[NeverConfig]):
    kind = "mismatched_trigger"
    Config = TriggerConfig  # type: ignore[assignment]

    def next_fire_time(self, after: datetime, state: TriggerState) -> None:
        return None


def test_the_registry_takes_a_config_of_the_declared_type() -> None:
    registry = Registry(plugin="ping")
    registry.add_executor(PingExecutor)
    registry.add_executor(LouderExecutor)
    registry.add_trigger(NeverTrigger)
    assert registry.executor("louder") is LouderExecutor
    assert registry.trigger("never") is NeverTrigger


def test_a_config_other_than_the_declared_one_is_refused() -> None:
    with pytest.raises(PluginError, match=r"declares Executor\[PingConfig\] but its Config is"):
        Registry(plugin="ping").add_executor(MismatchedExecutor)
    with pytest.raises(PluginError, match=r"declares Trigger\[NeverConfig\]"):
        Registry(plugin="ping").add_trigger(MismatchedTrigger)


def test_an_unparameterised_executor_is_still_accepted() -> None:
    class Plain(Executor):
        kind = "plain"
        Config = PingConfig

        async def run(self, ctx: StepContext, config: Any) -> Mapping[str, Any]:
            return {}

    registry = Registry()
    registry.add_executor(Plain)
    assert registry.executors == {"plain": Plain}


def test_the_job_schema_describes_a_type_with_its_configs_docstring() -> None:
    registry = Registry()
    registry.add_executor(PingExecutor)
    registry.add_trigger(NeverTrigger)
    schema = json_schema(registry)
    (step,) = schema["properties"]["steps"]["items"]["oneOf"]
    (trigger,) = schema["properties"]["triggers"]["items"]["oneOf"]
    assert step["description"] == "Answers pong: the description users see in the job schema."
    assert step["properties"]["loud"]["description"] == "Shout it."
    assert trigger["description"] == "Never fires."

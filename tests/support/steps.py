"""Executors used by the engine tests: they record calls and fail on request."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any, ClassVar

from vecron import Executor, ExecutorConfig, FinalError, RetryableError, StepContext, hookimpl
from vecron.plugin.registry import Registry


class Calls:
    """Shared, per-test record of what ran (reset by the fixture)."""

    counts: ClassVar[Counter[str]] = Counter()
    attempts: ClassVar[list[tuple[str, str, int]]] = []
    started: ClassVar[list[float]] = []  # monotonic start of each call

    @classmethod
    def reset(cls) -> None:
        cls.counts.clear()
        cls.attempts.clear()
        cls.started.clear()


class RecordConfig(ExecutorConfig):
    label: str = "x"
    fail_times: int = 0  # fail this many attempts before succeeding
    final: bool = False  # fail with a final (non-retryable) error
    sleep: float = 0.0
    retry_after: float | None = None


class RecordExecutor(Executor):
    """Counts calls per label; fails the first ``fail_times`` attempts."""

    kind = "record"
    Config = RecordConfig

    async def run(self, ctx: StepContext, config: Any) -> Mapping[str, Any]:
        Calls.counts[config.label] += 1
        Calls.attempts.append((ctx.execution_id, ctx.step_id, ctx.attempt))
        Calls.started.append(time.monotonic())
        if config.sleep:
            await asyncio.sleep(config.sleep)
        if config.final:
            raise FinalError(f"{config.label} refused")
        if ctx.attempt <= config.fail_times:
            raise RetryableError(
                f"{config.label} attempt {ctx.attempt} failed", retry_after=config.retry_after
            )
        return {
            "label": config.label,
            "attempt": ctx.attempt,
            "previous": sorted(ctx.extra.get("steps", {})),
        }


@hookimpl
def vecron_register_executors(register: Registry) -> None:
    register.add_executor(RecordExecutor)

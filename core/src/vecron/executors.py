"""Executor instances of one worker process, started once and shared by all steps."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import Any

from .batcher import Batcher
from .errors import NotFoundError
from .executor import Executor
from .models.definition import JobDefinition
from .registry import Registry
from .store.base import Store


class ExecutorPool:
    """One started instance per step type, created when a step first needs it."""

    def __init__(self, registry: Registry, exit_stack: AsyncExitStack) -> None:
        self._registry = registry
        self._stack = exit_stack
        self._instances: dict[str, Executor] = {}
        self._lock = asyncio.Lock()

    async def get(self, kind: str) -> Executor:
        instance = self._instances.get(kind)
        if instance is None:
            async with self._lock:
                instance = self._instances.get(kind)
                if instance is None:
                    instance = self._registry.executor(kind)()
                    await instance.start(self._stack)
                    self._instances[kind] = instance
        return instance


class DefinitionCache:
    """Job versions are immutable, so a version and its parsed step configs are cached.

    Misses are fetched in batches: a thousand executions of a thousand jobs due at once
    cost one query, not a thousand.
    """

    def __init__(self, store: Store, registry: Registry, *, batch_size: int = 500) -> None:
        self._store = store
        self._registry = registry
        self._cache: dict[tuple[str, int], tuple[JobDefinition, dict[str, Any]]] = {}
        self._loader: Batcher[tuple[str, int], JobDefinition | None] = Batcher(
            self._load, max_size=batch_size
        )

    async def _load(self, keys: Sequence[tuple[str, int]]) -> list[JobDefinition | None]:
        found = await self._store.job_definitions(keys)
        return [found.get(key) for key in keys]

    async def get(self, job_id: str, version: int) -> tuple[JobDefinition, dict[str, Any]]:
        """:raises NotFoundError: the job or that version was deleted."""
        key = (job_id, version)
        entry = self._cache.get(key)
        if entry is None:
            definition = await self._loader.submit(key)
            if definition is None:
                raise NotFoundError(f"job {job_id!r} version {version} no longer exists")
            entry = self._cache.get(key)
            if entry is None:
                configs = {
                    step.id: self._registry.executor(step.type).Config.model_validate(step.config)
                    for step in definition.steps
                }
                if len(self._cache) > 10_000:
                    self._cache.clear()
                entry = self._cache[key] = (definition, configs)
        return entry

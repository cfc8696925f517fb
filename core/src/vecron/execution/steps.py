"""Executor instances of one worker process, started once and shared by all steps."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from dataclasses import dataclass
from functools import cache
from typing import Any

import pydantic
from pydantic import BaseModel

from vecron.batcher import Batcher
from vecron.errors import NotFoundError, TemplateError, VecronError, problems_from_pydantic
from vecron.models.definition import JobDefinition, StepSpec
from vecron.plugin.executor import Executor
from vecron.plugin.registry import Registry
from vecron.store.base import Store
from vecron.templates import (
    CompiledConfig,
    CompiledSql,
    Condition,
    TemplateContext,
    compile_condition,
    compile_config,
    compile_sql,
)
from vecron.templates.budget import Budget, SliceSpent

#: How long a render may run on the event loop before it is started over in a thread.
INLINE_RENDER_SECONDS = 0.002
#: Threads that renders too long for the event loop share.
RENDER_THREADS = 4


@cache
def _render_threads() -> ThreadPoolExecutor:
    """The process-wide render threads (started on first use, not at import)."""
    return ThreadPoolExecutor(RENDER_THREADS, thread_name_prefix="vecron-render")


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


@dataclass(frozen=True, slots=True)
class LoadedJob:
    """A job version as a worker runs it: its definition and each step prepared."""

    definition: JobDefinition
    steps: Mapping[str, PreparedStep]
    #: Why no execution of it can run in this process — a step type no installed plugin
    #: provides — or None.
    problem: str | None = None


class DefinitionCache:
    """Job versions are immutable, so a version and its prepared steps are cached.

    Misses are fetched in batches: a thousand executions of a thousand jobs due at once
    cost one query, not a thousand.
    """

    def __init__(self, store: Store, registry: Registry, *, batch_size: int = 500) -> None:
        self._store = store
        self._registry = registry
        self._cache: dict[tuple[str, int], LoadedJob] = {}
        self._loader: Batcher[tuple[str, int], JobDefinition | None] = Batcher(
            self._load, max_size=batch_size
        )

    async def _load(self, keys: Sequence[tuple[str, int]]) -> list[JobDefinition | None]:
        found = await self._store.job_definitions(keys)
        return [found.get(key) for key in keys]

    async def get(self, job_id: str, version: int) -> LoadedJob:
        """:raises NotFoundError: the job or that version was deleted."""
        key = (job_id, version)
        entry = self._cache.get(key)
        if entry is None:
            definition = await self._loader.submit(key)
            if definition is None:
                raise NotFoundError(f"job {job_id!r} version {version} no longer exists")
            entry = self._cache.get(key)
            if entry is None:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                entry = self._cache[key] = self._prepare(definition)
        return entry

    def _prepare(self, definition: JobDefinition) -> LoadedJob:
        """The job prepared; one that cannot run here — its plugin was uninstalled or
        changed since the job was saved — carries the reason instead."""
        prepared: dict[str, PreparedStep] = {}
        for step in definition.steps:
            try:
                prepared[step.id] = PreparedStep.of(step, self._registry.executor(step.type))
            except VecronError as exc:
                return LoadedJob(definition, {}, problem=exc.one_line())
            except pydantic.ValidationError as exc:
                problems = problems_from_pydantic(exc.errors(include_url=False), data=step.config)
                listed = "; ".join(problem.line() for problem in problems)
                problem = f"step {step.id!r}: {listed} (installed {step.type!r})"
                return LoadedJob(definition, {}, problem=problem)
        return LoadedJob(definition, prepared)


@dataclass(frozen=True, slots=True)
class PreparedStep:
    """A step of a job version, compiled once: its templates, its ``when`` condition, and
    — when it has no templates, the common case — its validated config."""

    model: type[BaseModel]
    compiled: CompiledConfig
    #: Fields the executor declares SQL: compiled so values become bound parameters.
    sql: tuple[tuple[str, CompiledSql], ...]
    static: Any | None
    condition: Condition | None
    #: Does any template or the condition read ``vars``?
    reads_variables: bool

    @classmethod
    def of(cls, step: StepSpec, executor: type[Executor]) -> PreparedStep:
        model = executor.Config
        plain = {k: v for k, v in step.config.items() if k not in executor.sql_fields}
        compiled = compile_config(plain, step_id=step.id)
        sql = tuple(
            (name, compile_sql(text, step_id=step.id, field=name))
            for name, text in step.config.items()
            if name in executor.sql_fields and isinstance(text, str)
        )
        static = None
        if compiled.is_static and not any(c.parameters for _, c in sql):
            static = model.model_validate({**plain, **{n: {"text": c.text} for n, c in sql}})
        condition = compile_condition(step.when, step.id) if step.when else None
        roots = [r for refs in compiled.references.values() for r in refs]
        roots += [r for _, c in sql for _, program in c.parameters for r in program.references]
        if condition is not None:
            roots += condition.references
        reads = any(r == "vars" or r.startswith("vars.") for r in roots)
        return cls(model, compiled, sql, static, condition, reads)

    @property
    def needs_context(self) -> bool:
        """Only templates and conditions read the Template Context."""
        return self.static is None or self.condition is not None

    async def prepare(self, context: TemplateContext, *, timeout: float | None) -> Any | None:
        """The executor's Config for this run, or None when its ``when`` is false.

        Everything rendered shares one budget that ends ``timeout`` seconds from now (the
        step's timeout; :data:`~vecron.templates.budget.RENDER_SECONDS` at most). A render
        done within a few milliseconds runs here; a longer one starts over in a render
        thread, so the event loop keeps serving every other execution, and stops when the
        budget ends or the awaiting task is cancelled.

        :raises TemplateError: as :meth:`config`, or the render went over its budget.
        """
        if not self.needs_context:
            return self.static
        budget = Budget() if timeout is None else Budget.for_timeout(timeout)
        budget.slice(INLINE_RENDER_SECONDS)
        try:
            return self._prepare(context, budget)
        except SliceSpent:
            budget.resume()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(_render_threads(), self._prepare, context, budget)
        except asyncio.CancelledError:
            budget.cancel()  # the thread cannot be interrupted; its render stops itself
            raise

    def _prepare(self, context: TemplateContext, budget: Budget) -> Any | None:
        if self.condition is not None and not self.condition.evaluate(context, budget):
            return None
        return self.config(context, budget)

    def config(self, context: TemplateContext, budget: Budget | None = None) -> Any:
        """The executor's Config for this run: templates rendered, then validated.

        :raises TemplateError: a reference is undefined, or the rendered value is invalid.
        """
        if self.static is not None:
            return self.static
        budget = budget or Budget()
        rendered = self.compiled.render(context, budget)
        for name, compiled in self.sql:
            text, params = compiled.render(context, budget)
            rendered[name] = {"text": text, "params": params}
        try:
            return self.model.model_validate(rendered)
        except pydantic.ValidationError as exc:
            problems = problems_from_pydantic(exc.errors(include_url=False), data=rendered)
            where = problems[0].field or ""
            listed = "; ".join(
                f"rendered field {problem.field!r} is invalid: {problem.message}"
                for problem in problems
            )
            raise TemplateError(
                f"step {self.compiled.step_id!r}: {listed}",
                step_id=self.compiled.step_id,
                config_field=where,
            ) from None

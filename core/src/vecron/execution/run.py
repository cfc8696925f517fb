"""One execution's steps: its variables, templates, Job Context, and each step in order
under its timeout (ARCHITECTURE §5).

Steps the database records as done (a resumed run: a retry, a rerun, a worker that
died) are not run again; their outputs come from the Job Context. Each step but the
last is checkpointed before the next one starts; the last step's result, or the failed
one's, is returned for the worker to record together with the execution's outcome
(:mod:`vecron.execution.outcomes`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vecron.breaker import CircuitBreaker
from vecron.errors import StepError, TemplateError, VecronError
from vecron.execution.outcomes import Failure
from vecron.execution.steps import ExecutorPool, LoadedJob, PreparedStep
from vecron.jobs.context import JobContextStore, execution_data, trigger_data
from vecron.metrics import Metrics
from vecron.models.definition import StepSpec
from vecron.models.execution import Execution, StepResult, StepStatus
from vecron.plugin.egress import EgressPolicy
from vecron.plugin.executor import StepContext
from vecron.plugin.files import ExecutionFiles
from vecron.services.variables import ResolvedVariables, VariableService
from vecron.storage.base import ObjectStorage
from vecron.store.base import Store
from vecron.telemetry import bind_secrets, get_logger
from vecron.templates import TemplateContext, excerpt, mask

log = get_logger("vecron.execution.run")

NO_VARIABLES = ResolvedVariables(values={}, secret_values=frozenset(), secret_names=frozenset())

#: Records a finished step (not the last) before the next one starts.
Checkpoint = Callable[[Execution, StepResult], Awaitable[None]]


def step_result(
    execution: Execution,
    step_id: str,
    status: StepStatus,
    started_at: datetime,
    finished_at: datetime,
    *,
    output: dict[str, Any] | None = None,
    error: str | None = None,
) -> StepResult:
    return StepResult(
        execution_id=execution.id,
        step_id=step_id,
        attempt=execution.attempt,
        status=status,
        started_at=started_at,
        finished_at=finished_at,
        output=output,
        error=error,
    )


class StepFailure(Exception):
    """Ends the run of an execution's steps early; carries why."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.error)
        self.failure = failure


@dataclass(frozen=True, slots=True)
class RunEnd:
    """How the steps of one attempt ended."""

    #: Step results to record with the outcome: the last step's, or the failed one's.
    results: list[StepResult]
    #: Why the attempt did not succeed; None when it did.
    failure: Failure | None = None


class StepRunner:
    """Runs the steps of executions, one :meth:`run` per attempt, many at once."""

    def __init__(
        self,
        store: Store,
        executors: ExecutorPool,
        *,
        checkpoint: Checkpoint,
        egress: EgressPolicy,
        clock: Callable[[], datetime],
        variables: VariableService | None = None,
        contexts: JobContextStore | None = None,
        breaker: CircuitBreaker | None = None,
        storage: ObjectStorage | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.metrics = metrics or Metrics()
        self.executors = executors
        self.checkpoint = checkpoint
        self.egress = egress
        self.clock = clock
        self.variables = variables
        self.contexts = contexts
        self.breaker = breaker
        self.storage = storage

    async def run(self, execution: Execution, job: LoadedJob) -> RunEnd:
        """Run the steps not done yet; never raises for a step's failure."""
        definition = job.definition
        results = await self._resumed(execution)
        done = set(results)
        secrets: frozenset[str] = frozenset()
        try:
            variables = await self._variables(execution, job.steps)
            secrets = variables.secret_values
            bind_secrets(secrets)
            async with asyncio.timeout(definition.timeout):
                for index, step in enumerate(definition.steps):
                    if step.id in done:
                        continue
                    prepared = job.steps[step.id]
                    context = self._template_context(execution, prepared, variables, results)
                    result = await self._run_step(execution, step, prepared, context)
                    results[step.id] = result
                    last = index == len(definition.steps) - 1
                    # The output is kept only in the context: store it before the database
                    # records the step as done, so a resumed run finds it. Steps but the
                    # last write their own entry; the last writes the whole document.
                    await self._save_context(
                        execution,
                        results,
                        secrets,
                        "succeeded" if last else "running",
                        step=None if last else result,
                    )
                    if last:
                        return RunEnd([result])
                    await self.checkpoint(execution, result)  # a resumed run starts after it
        except StepFailure as stop:
            failure = stop.failure
            log.warning(
                "step held" if failure.held else "step failed",
                step_id=failure.step.step_id,
                error=failure.error,
                retryable=failure.retryable,
            )
            results[failure.step.step_id] = failure.step
            if not failure.held:
                with contextlib.suppress(StepFailure):  # the failure itself is what counts
                    await self._save_context(execution, results, secrets, "failed")
            return RunEnd([failure.step], failure)
        except TimeoutError:
            now = self.clock()
            message = f"job timed out after {definition.timeout} s"
            timed_out = step_result(execution, "-", StepStatus.TIMED_OUT, now, now, error=message)
            return RunEnd([], Failure(timed_out, retryable=True, job_timeout=True))
        return RunEnd([])  # every step was done by an earlier attempt

    async def _resumed(self, execution: Execution) -> dict[str, StepResult]:
        """Steps an earlier attempt finished, with their outputs from the Job Context."""
        if not execution.may_have_progress:  # a first claim: nothing to ask
            return {}
        done = {
            r.step_id: r
            for r in await self.store.step_results(execution.id)
            if r.status in (StepStatus.SUCCEEDED, StepStatus.SKIPPED)
        }
        results = dict(done)
        if done and self.contexts is not None:
            results.update(await self.contexts.outputs(execution, done))
        return results

    async def _variables(
        self, execution: Execution, prepared: Mapping[str, PreparedStep]
    ) -> ResolvedVariables:
        """This execution's variables — read fresh, so a change is seen by the next run —
        when any step reads them; a secret that cannot be decrypted fails it for good."""
        if self.variables is None or not any(p.reads_variables for p in prepared.values()):
            return NO_VARIABLES
        try:
            return await self.variables.resolve_for_execution(execution.job_id)
        except VecronError as exc:
            now = self.clock()
            error = f"variables: {exc.one_line()}"
            failed = step_result(execution, "-", StepStatus.FAILED, now, now, error=error)
            raise StepFailure(Failure(failed, retryable=False)) from None

    @staticmethod
    def _template_context(
        execution: Execution,
        prepared: PreparedStep,
        variables: ResolvedVariables,
        results: Mapping[str, StepResult],
    ) -> TemplateContext:
        if not prepared.needs_context:  # a static config: only outputs go to the executor
            return TemplateContext(
                steps={sid: {"output": r.output} for sid, r in results.items()},
                secrets=variables.secret_values,
            )
        return TemplateContext(
            vars=variables.values,
            steps={
                sid: {"output": r.output, "status": r.status.value} for sid, r in results.items()
            },
            trigger=trigger_data(execution),
            execution=execution_data(execution),
            secrets=variables.secret_values,
        )

    async def _save_context(
        self,
        execution: Execution,
        results: Mapping[str, StepResult],
        secrets: frozenset[str],
        status: str,
        *,
        step: StepResult | None = None,
    ) -> None:
        """The whole context, or only ``step``'s entry when given.

        :raises StepFailure: (retryable) storage refused the write.
        """
        if self.contexts is None:
            return
        steps = {sid: r for sid, r in results.items() if sid != "-"}
        try:
            if step is not None:
                await self.contexts.write_step(execution.id, step, secrets)
            else:
                await self.contexts.write(execution, steps, secrets, status=status)
        except Exception as exc:
            step_id = next(reversed(steps)) if steps else "-"
            now = self.clock()
            error = excerpt(f"could not save the job context: {exc}", secrets)
            failed = step_result(execution, step_id, StepStatus.FAILED, now, now, error=error)
            raise StepFailure(Failure(failed, retryable=True)) from None

    async def _run_step(
        self,
        execution: Execution,
        step: StepSpec,
        prepared: PreparedStep,
        context: TemplateContext,
    ) -> StepResult:
        """The step's result when it succeeded or was skipped.

        :raises StepFailure: it failed, timed out, or its target's circuit is open.
        """
        secrets = context.secrets
        started = self.clock()
        # The step's timeout covers rendering its templates too, off the event loop.
        loop = asyncio.get_running_loop()
        deadline = None if step.timeout is None else loop.time() + step.timeout
        try:
            config = await prepared.prepare(context, timeout=step.timeout)
        except TemplateError as exc:  # final: the same template fails the same way again
            error = mask(exc.one_line(), secrets)
            failed = step_result(
                execution, step.id, StepStatus.FAILED, started, self.clock(), error=error
            )
            raise StepFailure(Failure(failed, retryable=False)) from None
        if config is None:
            skipped = f"skipped: `when: {step.when}` was false"
            return step_result(
                execution, step.id, StepStatus.SKIPPED, started, started, error=skipped
            )
        executor = await self.executors.get(step.type)
        ctx = StepContext(
            execution_id=execution.id,
            job_id=execution.job_id,
            job_name=execution.job_name,
            step_id=step.id,
            attempt=execution.attempt,
            scheduled_at=execution.scheduled_at,
            timeout=step.timeout,
            extra={
                "steps": {sid: data.get("output") for sid, data in context.steps.items()},
                "params": execution.params,
            },
            files=None if self.storage is None else ExecutionFiles(self.storage, execution.id),
            egress=self.egress,
            secrets=secrets,
        )
        target = executor.target(config) if self.breaker is not None else None
        if target is not None and self.breaker is not None:
            decision = await self.breaker.allow(target)
            self.metrics.circuit(target, decision.state)
            if not decision.allowed:
                error = f"circuit open for {target}; waiting, not calling it"
                held = step_result(
                    execution, step.id, StepStatus.FAILED, started, started, error=error
                )
                raise StepFailure(Failure(held, True, decision.retry_after, held=True))
        status, error, retryable, retry_after, output = StepStatus.FAILED, "", True, None, None
        try:
            if deadline is not None and loop.time() >= deadline:  # nothing is sent after it
                raise TimeoutError
            async with asyncio.timeout_at(deadline):
                value = await executor.run(ctx, config)
            await self._report(target, ok=True)
            return self._took(
                step.type,
                step_result(
                    execution,
                    step.id,
                    StepStatus.SUCCEEDED,
                    started,
                    self.clock(),
                    output=mask(dict(value), secrets) if secrets else dict(value),
                ),
            )
        except TimeoutError:
            status, error = StepStatus.TIMED_OUT, f"step timed out after {step.timeout} s"
        except StepError as exc:
            error, retryable, retry_after, output = (
                exc.message,
                exc.retryable,
                exc.retry_after,
                exc.output,
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # an executor bug or an unclassified failure: retryable
            error = f"{type(exc).__name__}: {exc}"
        # A final error (a 4xx) proves the target answers: only the rest count against it.
        await self._report(target, ok=not retryable)
        failed = step_result(
            execution,
            step.id,
            status,
            started,
            self.clock(),
            output=mask(output, secrets) if secrets and output else output,
            error=mask(error, secrets) if secrets else error,
        )
        raise StepFailure(Failure(self._took(step.type, failed), retryable, retry_after))

    def _took(self, step_type: str, result: StepResult) -> StepResult:
        """Count how long an executor's call took (a step that was called at all)."""
        seconds = (result.finished_at - result.started_at).total_seconds()
        self.metrics.step_took(step_type, result.status.value, seconds)
        return result

    async def _report(self, target: str | None, *, ok: bool) -> None:
        if target is not None and self.breaker is not None:
            self.metrics.circuit(target, await self.breaker.record(target, ok))

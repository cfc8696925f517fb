"""The worker: claims executions and runs their steps in order.

Path of one execution (ARCHITECTURE §5): wait for its fire time, claim it in the store
(a conditional UPDATE; a duplicate delivery claims nothing and is dropped), run each
step not already recorded under its timeout, checkpoint each step's result, then finish
with an update that only applies while this worker still holds the lease. A failure is
retried with backoff by putting the execution back in the store with ``not_before``;
there is no second retry layer.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pluggy
import structlog

from vecron.breaker import CircuitBreaker
from vecron.clock import utcnow
from vecron.errors import StepError, TemplateError, VecronError
from vecron.events import ExecutionEvent
from vecron.execution.batcher import Batcher
from vecron.execution.egress import EgressPolicy, default_egress
from vecron.execution.jobcontext import (
    ContextWriter,
    build_context,
    execution_data,
    read_context,
    trigger_data,
)
from vecron.execution.steps import DefinitionCache, ExecutorPool, PreparedStep
from vecron.ids import new_id
from vecron.models.bounds import MAX_SECONDS
from vecron.models.definition import JobDefinition, OverlapPolicy
from vecron.models.execution import (
    Execution,
    ExecutionStatus,
    Outcome,
    StepResult,
    StepStatus,
    start_order,
)
from vecron.plugin.executor import StepContext
from vecron.plugin.files import ExecutionFiles
from vecron.plugin.registry import Registry
from vecron.queue.base import Delivery, Queue
from vecron.scheduling.jobschedule import JobSchedule
from vecron.scheduling.wakeup import Wakeup
from vecron.services.variables import ResolvedVariables, VariableService
from vecron.storage.base import ObjectStorage
from vecron.store.base import Store
from vecron.telemetry import bind_secrets, get_logger
from vecron.templates import TemplateContext, excerpt, mask

log = get_logger("vecron.execution.worker")

NO_VARIABLES = ResolvedVariables(values={}, secret_values=frozenset(), secret_names=frozenset())


def _result(
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


def _bounded_delay(seconds: float) -> float:
    """A retry delay that a datetime can hold: an executor's ``retry_after`` (a target's
    Retry-After header) may be anything, and an overflow here would strand the run."""
    if not math.isfinite(seconds):
        return float(MAX_SECONDS) if seconds > 0 else 0.0
    return min(max(seconds, 0.0), float(MAX_SECONDS))


class _StepFailure(Exception):
    def __init__(
        self, step: StepResult, retryable: bool, retry_after: float | None, *, held: bool = False
    ) -> None:
        super().__init__(step.error)
        self.step = step
        self.retryable = retryable
        self.retry_after = retry_after
        #: Not run at all: its target's circuit is open. Waiting costs no attempt.
        self.held = held


class Worker:
    def __init__(
        self,
        store: Store,
        queue: Queue,
        registry: Registry,
        *,
        pm: pluggy.PluginManager | None = None,
        wakeup: Wakeup | None = None,
        concurrency: int = 200,
        lease_seconds: float = 60.0,
        batch_size: int = 500,
        owner: str | None = None,
        shutdown_grace: float = 30.0,
        breaker: CircuitBreaker | None = None,
        variables: VariableService | None = None,
        contexts: ContextWriter | None = None,
        storage: ObjectStorage | None = None,
        egress: EgressPolicy | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.shutdown_grace = shutdown_grace
        self.breaker = breaker
        self.variables = variables
        self.contexts = contexts
        self.storage = storage
        self.egress = egress or default_egress()
        self.store = store
        self.queue = queue
        self.registry = registry
        self.pm = pm
        self.wakeup = wakeup
        self.owner = owner or f"worker-{new_id()}"
        self.lease = timedelta(seconds=lease_seconds)
        self.clock = clock
        self._slots = asyncio.Semaphore(concurrency)
        self._concurrency = concurrency
        self._definitions = DefinitionCache(store, registry)
        self._claims: Batcher[str, Execution | None] = Batcher(
            self._claim_batch, max_size=batch_size
        )
        self._records: Batcher[tuple[list[StepResult], Outcome | None], bool] = Batcher(
            self._record_batch, max_size=batch_size
        )
        self._running: dict[str, Execution] = {}
        self._deliveries: dict[str, Delivery] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- batched store calls ------------------------------------------------------
    async def _claim_batch(self, ids: Sequence[str]) -> list[Execution | None]:
        now = self.clock()
        claimed = {
            e.id: e
            for e in await self.store.claim(ids, self.owner, lease_until=now + self.lease, now=now)
        }
        # Two deliveries of one execution in the same batch (a re-send beside the
        # original) must not both run it: the first one gets it, the rest nothing.
        return [claimed.pop(i, None) for i in ids]

    async def _record_batch(
        self, items: Sequence[tuple[list[StepResult], Outcome | None]]
    ) -> list[bool]:
        results = [r for rs, _ in items for r in rs]
        outcomes = [o for _, o in items if o is not None]
        # The steps have run: keep trying to record that while the lease lasts (a
        # database restart), rather than leave them to run again after the lease.
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.lease.total_seconds() / 2
        delay = 0.2
        while True:
            try:
                recorded = await self.store.record(results, outcomes)
                break
            except Exception as exc:
                if loop.time() + delay > give_up:
                    raise
                log.warning("recording results failed; retrying", error=str(exc)[:300])
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
        applied = iter(recorded)
        return [next(applied) if o is not None else True for _, o in items]

    # -- main loop ----------------------------------------------------------------
    async def run(self, stop: asyncio.Event, *, grace: float | None = None) -> None:
        """Work until ``stop``; then let running executions finish for ``grace`` seconds
        (default ``shutdown_grace``) and hand the rest back (S5.6)."""
        grace = self.shutdown_grace if grace is None else grace
        async with AsyncExitStack() as stack:
            self._executors = ExecutorPool(self.registry, stack)
            lease_task = asyncio.create_task(self._renew_leases(stop))
            log.info("worker started", owner=self.owner, concurrency=self._concurrency)
            while not stop.is_set():
                room = self._concurrency * 4 - len(self._tasks)
                if room <= 0:
                    await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
                    continue
                try:
                    deliveries = await self.queue.fetch(room, timeout=0.2)
                except Exception as exc:  # the broker is away: wait, the store keeps the work
                    log.warning("fetching from the queue failed", error=str(exc)[:300])
                    await asyncio.sleep(1.0)
                    continue
                for delivery in deliveries:
                    task = asyncio.create_task(self._handle(delivery))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
            if self._tasks:
                _, pending = await asyncio.wait(self._tasks, timeout=grace)
                unfinished = list(self._running.values())
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                await self._hand_back(unfinished)
            lease_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await lease_task
        log.info("worker stopped", owner=self.owner)

    async def _hand_back(self, executions: Sequence[Execution]) -> None:
        """Give executions still held at shutdown back to the queue at once, instead of
        leaving them to wait out their lease; their finished steps stay recorded."""
        if not executions:
            return
        now = self.clock()
        outcomes = [
            Outcome(
                execution_id=e.id,
                owner=self.owner,
                attempt=e.attempt,
                status=ExecutionStatus.QUEUED,
                at=now,
                not_before=now,
                error="handed back at worker shutdown",
                refund_attempt=True,
            )
            for e in executions
        ]
        try:
            await self.store.record([], outcomes)
        except VecronError as exc:  # their leases expire and the reconciler re-sends them
            log.warning("could not hand executions back", count=len(outcomes), error=str(exc))
            return
        log.info("handed executions back", count=len(outcomes))

    async def _renew_leases(self, stop: asyncio.Event) -> None:
        period = self.lease.total_seconds() / 3
        while not stop.is_set():
            await asyncio.sleep(period)
            if not self._running:
                continue
            try:
                await self.store.extend_leases(
                    list(self._running), self.owner, self.clock() + self.lease
                )
                # Long steps: tell the broker the work goes on, so it does not redeliver.
                for delivery in list(self._deliveries.values()):
                    await delivery.in_progress()
            except Exception as exc:  # try again next period
                log.warning("could not renew leases", error=str(exc)[:300])

    async def _handle(self, delivery: Delivery) -> None:
        """Claim and load at once (batched with every other delivery), then start the
        steps at the fire time: the database work is done before the instant is due."""
        message = delivery.message
        try:
            execution = await self._claims.submit(message.execution_id)
            if execution is None:  # finished, or another worker holds it
                await delivery.ack()
                return
            self._running[execution.id] = execution
            self._deliveries[execution.id] = delivery
            try:
                try:
                    loaded = await self._definitions.get(execution.job_id, execution.job_version)
                except VecronError as exc:  # the job or version is gone: nothing can run it
                    await self._finish(execution, [], ExecutionStatus.CANCELLED, str(exc))
                else:
                    await self._start(execution, loaded)
            finally:
                self._running.pop(execution.id, None)
                self._deliveries.pop(execution.id, None)
            await delivery.ack()
        except asyncio.CancelledError:
            await delivery.nak()
            raise
        except Exception:
            log.exception("execution handling failed", execution_id=message.execution_id)
            await delivery.nak(delay=1.0)

    async def _start(
        self, execution: Execution, loaded: tuple[JobDefinition, dict[str, Any]]
    ) -> None:
        if execution.attempt > execution.max_attempts:
            # Every attempt was claimed and none recorded an end (a worker died, or
            # handling failed): claiming it again would never stop.
            await self._give_up(execution)
            return
        for step in loaded[0].steps:  # start executors before the fire time
            await self._executors.get(step.type)
        wait = (execution.not_before - self.clock()).total_seconds()
        if wait > 0:
            await asyncio.sleep(wait)
        async with self._slots:
            started = self.clock()
            # Every execution due at this instant records its start before any of them
            # does step work, so a burst starts together.
            await asyncio.sleep(0)
            await self.execute(execution, *loaded, started=started)

    # -- one execution ------------------------------------------------------------
    async def execute(
        self,
        execution: Execution,
        definition: JobDefinition,
        configs: dict[str, Any],
        *,
        started: datetime | None = None,
    ) -> None:
        started = started or self.clock()
        # Every log line of this execution, executors' included, carries its ids (the
        # task runs in its own context, so these never leak into other executions).
        structlog.contextvars.bind_contextvars(
            execution_id=execution.id,
            job_id=execution.job_id,
            job=execution.job_name,
            attempt=execution.attempt,
        )
        if definition.policy.overlap is OverlapPolicy.SKIP and await self._overlaps(execution):
            await self._finish(
                execution,
                [],
                ExecutionStatus.SKIPPED,
                "another execution was running",
                started=started,
            )
            return
        self._emit("started", execution)
        done: dict[str, StepResult] = {}
        if execution.may_have_progress:  # resume: steps already recorded are not run again
            done = {
                r.step_id: r
                for r in await self.store.step_results(execution.id)
                if r.status in (StepStatus.SUCCEEDED, StepStatus.SKIPPED)
            }
        results: dict[str, StepResult] = dict(done)
        if done:
            results.update(await self._outputs_from_context(execution, done))
        pending: list[StepResult] = []
        secrets: frozenset[str] = frozenset()
        try:
            variables = await self._variables(execution, configs)
            secrets = variables.secret_values
            bind_secrets(secrets)
            async with asyncio.timeout(definition.timeout):
                for index, step in enumerate(definition.steps):
                    if step.id in done:
                        continue
                    prepared = configs[step.id]
                    context = (
                        TemplateContext(
                            vars=variables.values,
                            steps={
                                sid: {"output": r.output, "status": r.status.value}
                                for sid, r in results.items()
                            },
                            trigger=trigger_data(execution),
                            execution=execution_data(execution),
                            secrets=secrets,
                        )
                        if prepared.needs_context
                        else TemplateContext(
                            steps={sid: {"output": r.output} for sid, r in results.items()},
                            secrets=secrets,
                        )
                    )
                    result = await self._run_step(execution, definition, index, prepared, context)
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
                    if not last:
                        # Checkpoint before the next step: a resumed run starts after it.
                        await self._records.submit(([result], None))
                        self._emit(
                            "step_finished", execution, step_id=step.id, status=result.status.value
                        )
                    else:
                        pending.append(result)
        except _StepFailure as failure:
            log.warning(
                "step held" if failure.held else "step failed",
                step_id=failure.step.step_id,
                error=failure.step.error,
                retryable=failure.retryable,
            )
            results[failure.step.step_id] = failure.step
            if not failure.held:
                with contextlib.suppress(_StepFailure):  # the failure itself is what counts
                    await self._save_context(execution, results, secrets, "failed")
            await self._fail(execution, definition, [failure.step], failure, started=started)
            return
        except TimeoutError:
            message = f"job timed out after {definition.timeout} s"
            await self._fail(
                execution,
                definition,
                [],
                _StepFailure(
                    _result(
                        execution,
                        "-",
                        StepStatus.TIMED_OUT,
                        self.clock(),
                        self.clock(),
                        error=message,
                    ),
                    True,
                    None,
                ),
                started=started,
                job_timeout=True,
            )
            return
        await self._finish(execution, pending, ExecutionStatus.SUCCEEDED, None, started=started)

    async def _variables(self, execution: Execution, prepared: dict[str, Any]) -> ResolvedVariables:
        """This execution's variables — read fresh, so a change is seen by the next run —
        when any step reads them; a secret that cannot be decrypted fails it for good."""
        if self.variables is None or not any(p.reads_variables for p in prepared.values()):
            return NO_VARIABLES
        try:
            return await self.variables.resolve_for_execution(execution.job_id)
        except VecronError as exc:
            failed = _result(
                execution,
                "-",
                StepStatus.FAILED,
                self.clock(),
                self.clock(),
                error=f"variables: {exc.one_line()}",
            )
            raise _StepFailure(failed, False, None) from None

    async def _outputs_from_context(
        self, execution: Execution, done: dict[str, StepResult]
    ) -> dict[str, StepResult]:
        """A resumed execution reads earlier steps' outputs from its persisted Job Context;
        the database says which steps are done. The context is written before a step is
        recorded as done, so a done step missing from it means storage lost it."""
        if self.contexts is None:
            return {}
        try:
            document = await read_context(self.contexts.storage, execution)
        except VecronError:
            return {}
        stored = document.get("steps", {}) if isinstance(document, dict) else {}
        return {
            sid: replace(result, output=stored[sid].get("output"))
            for sid, result in done.items()
            if isinstance(stored.get(sid), dict)
            and stored[sid].get("status") == result.status.value
        }

    async def _save_context(
        self,
        execution: Execution,
        results: dict[str, StepResult],
        secrets: frozenset[str],
        status: str,
        *,
        step: StepResult | None = None,
    ) -> None:
        """The whole context, or only ``step``'s entry when given.

        :raises _StepFailure: (retryable) storage refused the write.
        """
        if self.contexts is None:
            return
        steps = {sid: r for sid, r in results.items() if sid != "-"}
        try:
            if step is not None:
                await self.contexts.write_step(execution.id, step, secrets)
            else:
                await self.contexts.write(
                    execution.id, build_context(execution, steps, status=status), secrets
                )
        except Exception as exc:
            step_id = next(reversed(steps)) if steps else "-"
            failed = _result(
                execution,
                step_id,
                StepStatus.FAILED,
                self.clock(),
                self.clock(),
                error=excerpt(f"could not save the job context: {exc}", secrets),
            )
            raise _StepFailure(failed, True, None) from None

    async def _run_step(
        self,
        execution: Execution,
        definition: JobDefinition,
        index: int,
        prepared: PreparedStep,
        context: TemplateContext,
    ) -> StepResult:
        step = definition.steps[index]
        secrets = context.secrets
        started = self.clock()
        # The step's timeout covers rendering its templates too, off the event loop.
        loop = asyncio.get_running_loop()
        deadline = None if step.timeout is None else loop.time() + step.timeout
        try:
            config = await prepared.prepare(context, timeout=step.timeout)
            if config is None:
                return _result(
                    execution,
                    step.id,
                    StepStatus.SKIPPED,
                    started,
                    started,
                    error=f"skipped: `when: {step.when}` was false",
                )
        except TemplateError as exc:  # final: the same template fails the same way again
            failed = _result(
                execution,
                step.id,
                StepStatus.FAILED,
                started,
                self.clock(),
                error=mask(exc.one_line(), secrets),
            )
            raise _StepFailure(failed, False, None) from None
        outputs = {sid: data.get("output") for sid, data in context.steps.items()}
        executor = await self._executors.get(step.type)
        ctx = StepContext(
            execution_id=execution.id,
            job_id=execution.job_id,
            job_name=execution.job_name,
            step_id=step.id,
            attempt=execution.attempt,
            scheduled_at=execution.scheduled_at,
            timeout=step.timeout,
            extra={"steps": outputs, "params": execution.params},
            files=None if self.storage is None else ExecutionFiles(self.storage, execution.id),
            egress=self.egress,
            secrets=secrets,
        )
        status, error, retryable, retry_after, output = StepStatus.FAILED, "", True, None, None
        target = executor.target(config) if self.breaker is not None else None
        if target is not None and self.breaker is not None:
            decision = await self.breaker.allow(target)
            if not decision.allowed:
                held = _result(
                    execution,
                    step.id,
                    StepStatus.FAILED,
                    started,
                    started,
                    error=f"circuit open for {target}; waiting, not calling it",
                )
                raise _StepFailure(held, True, decision.retry_after, held=True)
        try:
            if deadline is not None and loop.time() >= deadline:  # nothing is sent after it
                raise TimeoutError
            async with asyncio.timeout_at(deadline):
                value = await executor.run(ctx, config)
            await self._report(target, ok=True)
            return _result(
                execution,
                step.id,
                StepStatus.SUCCEEDED,
                started,
                self.clock(),
                output=mask(dict(value), secrets) if secrets else dict(value),
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
        result = _result(
            execution,
            step.id,
            status,
            started,
            self.clock(),
            output=mask(output, secrets) if secrets and output else output,
            error=mask(error, secrets) if secrets else error,
        )
        raise _StepFailure(result, retryable, retry_after)

    async def _report(self, target: str | None, *, ok: bool) -> None:
        if target is not None and self.breaker is not None:
            await self.breaker.record(target, ok)

    async def _overlaps(self, execution: Execution) -> bool:
        """Is another execution of the job in progress that came first (:func:`start_order`)?
        In progress: running, or queued again after it started (waiting for a retry, or
        handed back) — a run between attempts has not ended."""
        running = await self.store.list_executions(
            job_id=execution.job_id, status=ExecutionStatus.RUNNING, limit=50
        )
        waiting = await self.store.list_executions(
            job_id=execution.job_id, status=ExecutionStatus.QUEUED, limit=50
        )
        first = start_order(execution)
        return any(
            start_order(e) < first
            for e in (*running, *(w for w in waiting if w.started_at is not None))
            if e.id != execution.id
        )

    async def _fail(
        self,
        execution: Execution,
        definition: JobDefinition,
        results: list[StepResult],
        failure: _StepFailure,
        *,
        started: datetime,
        job_timeout: bool = False,
    ) -> None:
        timed_out = job_timeout or failure.step.status is StepStatus.TIMED_OUT
        now = self.clock()
        if failure.held:  # the circuit is open: wait for it without spending an attempt
            await self._requeue(
                execution, [], failure, failure.retry_after or 1.0, started, refund=True
            )
            return
        delay = definition.retry.backoff(execution.attempt)
        if failure.retry_after is not None:
            delay = max(delay, failure.retry_after)
        delay = _bounded_delay(delay)
        budget = definition.retry.budget
        within_budget = budget is None or (
            now + timedelta(seconds=delay) - (execution.scheduled_at or execution.created_at)
        ) <= timedelta(seconds=budget)
        if failure.retryable and execution.attempt < execution.max_attempts and within_budget:
            await self._requeue(execution, results, failure, delay, started, refund=False)
            self._emit("retry_scheduled", execution, status="queued", delay=delay)
            return
        status = ExecutionStatus.TIMED_OUT if timed_out else ExecutionStatus.FAILED
        error = failure.step.error
        if failure.retryable and not within_budget:
            error = f"{error} (retry budget of {budget} s spent)"
        await self._dead_letter(execution, results, status, error, started=started)

    async def _give_up(self, execution: Execution) -> None:
        error = (
            f"gave up after {execution.max_attempts} attempt(s): the last one ended "
            "without a result (its worker stopped or failed)"
        )
        await self._dead_letter(execution, [], ExecutionStatus.FAILED, error, started=self.clock())

    async def _dead_letter(
        self,
        execution: Execution,
        results: list[StepResult],
        status: ExecutionStatus,
        error: str | None,
        *,
        started: datetime,
    ) -> None:
        """Finish for good and hand the execution to the dead-letter queue (S5.3)."""
        await self._finish(execution, results, status, error, dead_letter=True, started=started)
        await self.queue.dead_letter(execution.id, error or status.value)

    async def _requeue(
        self,
        execution: Execution,
        results: list[StepResult],
        failure: _StepFailure,
        delay: float,
        started: datetime,
        *,
        refund: bool,
    ) -> None:
        """Back to the queue, due ``delay`` seconds from now; ``refund``: the attempt was
        not spent (nothing ran)."""
        now = self.clock()
        await self._records.submit(
            (
                results,
                Outcome(
                    execution_id=execution.id,
                    owner=self.owner,
                    attempt=execution.attempt,
                    status=ExecutionStatus.QUEUED,
                    at=now,
                    error=failure.step.error,
                    not_before=now + timedelta(seconds=_bounded_delay(delay)),
                    started_at=started,
                    refund_attempt=refund,
                ),
            )
        )
        if self.wakeup is not None:
            self.wakeup.notify()

    async def _finish(
        self,
        execution: Execution,
        results: list[StepResult],
        status: ExecutionStatus,
        error: str | None,
        *,
        dead_letter: bool = False,
        started: datetime | None = None,
    ) -> None:
        now = self.clock()
        applied = await self._records.submit(
            (
                results,
                Outcome(
                    execution_id=execution.id,
                    owner=self.owner,
                    attempt=execution.attempt,
                    status=status,
                    at=now,
                    error=error,
                    dead_letter=dead_letter,
                    started_at=started,
                ),
            )
        )
        if not applied:
            log.warning("lost the lease before finishing", execution_id=execution.id)
            return
        for result in results:
            self._emit(
                "step_finished", execution, step_id=result.step_id, status=result.status.value
            )
        self._emit("finished", execution, status=status.value)
        log.info(
            "execution finished",
            execution_id=execution.id,
            job=execution.job_name,
            status=status.value,
            attempt=execution.attempt,
            seconds=round((now - started).total_seconds(), 3) if started else None,
            error=error,
        )
        await self._after_finish(execution, now)

    async def _after_finish(self, execution: Execution, finished_at: datetime) -> None:
        """Fixed-delay triggers count from the finish: reschedule the job now."""
        definition, _ = await self._definitions.get(execution.job_id, execution.job_version)
        if not any(self.registry.trigger(t.type).after_finish for t in definition.triggers):
            return
        try:
            job = await self.store.get_job(execution.job_id)
        except VecronError:
            return
        if not job.enabled or job.version != execution.job_version:
            return
        schedule = JobSchedule(job.definition, self.registry)
        candidate = schedule.next_after(finished_at, job, finished_at=finished_at)
        upcoming = [t for t in (job.next_fire_at, candidate) if t is not None]
        await self.store.set_next_fire(
            job.id, min(upcoming) if upcoming else None, last_finished_at=finished_at
        )
        if self.wakeup is not None:
            self.wakeup.notify()

    def _emit(
        self,
        kind: str,
        execution: Execution,
        *,
        step_id: str | None = None,
        status: str | None = None,
        **data: Any,
    ) -> None:
        if self.pm is None:
            return
        event = ExecutionEvent(
            kind=kind,
            execution_id=execution.id,
            job_id=execution.job_id,
            at=self.clock(),
            status=status,
            step_id=step_id,
            data=data,
        )
        # Each observer on its own: one that raises must not hide the event from the rest.
        for impl in self.pm.hook.vecron_execution_event.get_hookimpls():
            try:
                impl.function(event=event)
            except Exception:  # an observer must never fail an execution
                log.exception(
                    "execution event observer failed", plugin=impl.plugin_name, event_kind=kind
                )

"""The worker: fetches deliveries, claims executions, holds their leases, and hands back
what it cannot finish at shutdown.

Path of one execution (ARCHITECTURE §5): wait for its fire time, claim it in the store
(a conditional UPDATE; a duplicate delivery claims nothing and is dropped), run its steps
(:mod:`vecron.execution.run`), decide how the attempt ended
(:mod:`vecron.execution.outcomes`), and record that with an update that only applies
while this worker still holds the lease. A failure is retried with backoff by putting the
execution back in the store with ``not_before``; there is no second retry layer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from typing import Any

import structlog

from vecron.alerts.alerter import Alerter
from vecron.batcher import Batcher
from vecron.breaker import CircuitBreaker
from vecron.clock import utcnow
from vecron.errors import VecronError
from vecron.events import EventSink, ExecutionStarted, NullSink
from vecron.execution.outcomes import decide, exhausted
from vecron.execution.recorder import OutcomeRecorder
from vecron.execution.run import StepRunner
from vecron.execution.steps import DefinitionCache, ExecutorPool, LoadedJob
from vecron.ids import new_id
from vecron.jobs.context import JobContextStore
from vecron.metrics import Metrics
from vecron.models import overlap
from vecron.models.execution import Execution, ExecutionStatus, Outcome
from vecron.models.policy import TriggerPolicy
from vecron.plugin.egress import EgressPolicy, default_egress
from vecron.plugin.registry import Registry
from vecron.queue.base import Delivery, Queue
from vecron.scheduling.fixed_delay import FixedDelay
from vecron.scheduling.wakeup import Wakeup
from vecron.services.variables import VariableService
from vecron.storage.base import ObjectStorage
from vecron.store.base import Store
from vecron.telemetry import get_logger

log = get_logger("vecron.execution.worker")

#: The error a cancelled execution records (who asked is in the audit log).
CANCELLED_ON_REQUEST = "cancelled on request"


class Worker:
    def __init__(
        self,
        store: Store,
        queue: Queue,
        registry: Registry,
        *,
        events: EventSink | None = None,
        wakeup: Wakeup | None = None,
        concurrency: int = 200,
        lease_seconds: float = 60.0,
        batch_size: int = 500,
        owner: str | None = None,
        shutdown_grace: float = 30.0,
        breaker: CircuitBreaker | None = None,
        variables: VariableService | None = None,
        contexts: JobContextStore | None = None,
        storage: ObjectStorage | None = None,
        egress: EgressPolicy | None = None,
        clock: Callable[[], datetime] = utcnow,
        alerts: Alerter | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.metrics = metrics or Metrics()
        self.queue = queue
        self.registry = registry
        self.events: EventSink = events or NullSink()
        self.wakeup = wakeup
        self.shutdown_grace = shutdown_grace
        self.owner = owner or f"worker-{new_id()}"
        self.lease = timedelta(seconds=lease_seconds)
        self.clock = clock
        self.recorder = OutcomeRecorder(
            store,
            queue,
            self.events,
            FixedDelay(store, registry, wakeup),
            lease=self.lease,
            wakeup=wakeup,
            batch_size=batch_size,
            alerts=alerts,
            metrics=self.metrics,
        )
        self.breaker = breaker
        self.variables = variables
        self.contexts = contexts
        self.storage = storage
        self.egress = egress or default_egress()
        self._slots = asyncio.Semaphore(concurrency)
        self._concurrency = concurrency
        self._definitions = DefinitionCache(store, registry)
        self._claims: Batcher[str, Execution | None] = Batcher(
            self._claim_batch, max_size=batch_size
        )
        self._running: dict[str, Execution] = {}
        self._deliveries: dict[str, Delivery] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        #: The task of each execution this worker may still stop (claimed, outcome not
        #: being recorded yet), and those it stopped because someone asked to cancel.
        self._cancellable: dict[str, asyncio.Task[Any]] = {}
        self._cancelling: set[str] = set()
        self._stopping = False

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

    # -- main loop ----------------------------------------------------------------
    async def run(self, stop: asyncio.Event, *, grace: float | None = None) -> None:
        """Work until ``stop``; then let running executions finish for ``grace`` seconds
        (default ``shutdown_grace``) and hand the rest back (S5.6)."""
        grace = self.shutdown_grace if grace is None else grace
        async with AsyncExitStack() as stack:
            self._executors = ExecutorPool(self.registry, stack)
            self._runner = StepRunner(
                self.store,
                self._executors,
                checkpoint=self.recorder.checkpoint,
                egress=self.egress,
                clock=self.clock,
                variables=self.variables,
                contexts=self.contexts,
                breaker=self.breaker,
                storage=self.storage,
                metrics=self.metrics,
            )
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
            # From here a cancelled task is the shutdown's: hand it back, do not cancel it.
            self._stopping = True
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
        now = self.clock()
        await self.recorder.hand_back([Outcome.handed_back(e, now) for e in executions])

    async def _renew_leases(self, stop: asyncio.Event) -> None:
        period = self.lease.total_seconds() / 3
        while not stop.is_set():
            await asyncio.sleep(period)
            if not self._running:
                continue
            try:
                asked = await self.store.extend_leases(
                    list(self._running), self.owner, self.clock() + self.lease
                )
                self._cancel(asked)
                # Long steps: tell the broker the work goes on, so it does not redeliver.
                for delivery in list(self._deliveries.values()):
                    await delivery.in_progress()
            except Exception as exc:  # try again next period
                log.warning("could not renew leases", error=str(exc)[:300])

    def _cancel(self, execution_ids: set[str]) -> None:
        """Stop the steps of executions someone asked to cancel (:meth:`_start` records
        them ``cancelled``). One whose outcome is being recorded already ends as it
        ended; during shutdown they are handed back, and cancelled when claimed again."""
        if self._stopping:
            return
        for execution_id in execution_ids - self._cancelling:
            task = self._cancellable.get(execution_id)
            if task is not None:
                log.info("cancelling on request", execution_id=execution_id)
                self._cancelling.add(execution_id)
                task.cancel()

    async def _settle_cancelled(
        self, execution: Execution, job: LoadedJob, started: datetime | None = None
    ) -> None:
        cancelled = Outcome.finished(
            execution,
            ExecutionStatus.CANCELLED,
            self.clock(),
            error=CANCELLED_ON_REQUEST,
            started_at=started,
        )
        await self.recorder.settle(execution, cancelled, definition=job.definition)

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
                    job = await self._definitions.get(execution.job_id, execution.job_version)
                except VecronError as exc:  # the job or version is gone: nothing can run it
                    gone = Outcome.finished(
                        execution, ExecutionStatus.CANCELLED, self.clock(), error=str(exc)
                    )
                    await self.recorder.settle(execution, gone)
                else:
                    await self._start(execution, job)
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

    async def _start(self, execution: Execution, job: LoadedJob) -> None:
        now = self.clock()
        end = exhausted(execution, now)
        if end is None and job.problem is not None:  # its plugin is gone: it cannot run
            end = Outcome.dead_lettered(execution, ExecutionStatus.FAILED, now, job.problem)
        if end is not None:
            await self.recorder.settle(execution, end, definition=job.definition)
            return
        if execution.cancel_requested_at is not None:  # asked while another worker had it
            await self._settle_cancelled(execution, job)
            return
        task = asyncio.current_task()
        if task is not None:
            self._cancellable[execution.id] = task
        try:
            for step in job.definition.steps:  # start executors before the fire time
                await self._executors.get(step.type)
            self.metrics.expect_job(execution.job_name)
            wait = (execution.not_before - self.clock()).total_seconds()
            if wait > 0:
                await asyncio.sleep(wait)
            async with self._slots:
                started = self.clock()
                # Every execution due at this instant records its start before any of
                # them does step work, so a burst starts together.
                await asyncio.sleep(0)
                await self.execute(execution, job, started=started)
        except asyncio.CancelledError:
            if execution.id not in self._cancelling or task is None or self._stopping:
                raise
            task.uncancel()  # the cancel was ours, for this execution: record it
            await self._settle_cancelled(execution, job, started=execution.started_at)
        finally:
            self._cancellable.pop(execution.id, None)
            self._cancelling.discard(execution.id)

    # -- one execution ------------------------------------------------------------
    async def execute(
        self, execution: Execution, job: LoadedJob, *, started: datetime | None = None
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
        definition = job.definition
        # The trigger policy the scheduler planned this fire with and the trigger service
        # admits manual and webhook runs with: a scheduled run is judged as it starts.
        if TriggerPolicy(definition).exclusive and await self._held(execution):
            self._cancellable.pop(execution.id, None)  # recording now: too late to stop
            skipped = Outcome.finished(
                execution,
                ExecutionStatus.SKIPPED,
                self.clock(),
                error=overlap.SKIPPED_REASON,
                started_at=started,
            )
            await self.recorder.settle(execution, skipped, definition=definition)
            return
        if execution.attempt == 1 and execution.scheduled_at is not None:
            self.metrics.started_late(execution.scheduled_at, started)
        self.events.emit(
            ExecutionStarted(
                at=started,
                execution_id=execution.id,
                job_id=execution.job_id,
                attempt=execution.attempt,
            )
        )
        end = await self._runner.run(execution, job)
        self._cancellable.pop(execution.id, None)  # recording now: too late to stop
        outcome = decide(definition, execution, end.failure, self.clock(), started=started)
        await self.recorder.settle(execution, outcome, end.results, definition=definition)

    async def _held(self, execution: Execution) -> bool:
        """Does another execution of the job hold it (:mod:`vecron.models.overlap`)?"""
        others: list[Execution] = []
        for status in (ExecutionStatus.RUNNING, ExecutionStatus.QUEUED):
            others += await self.store.list_executions(
                job_id=execution.job_id, status=status, limit=50
            )
        return overlap.held_by(execution, others) is not None

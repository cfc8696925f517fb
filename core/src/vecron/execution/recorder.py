"""Recording what executions did: checkpoints of finished steps, then each attempt's
outcome, batched across every execution of a worker; and telling whoever waits.

Hundreds of executions finishing at the same instant cost one transaction. An outcome
applies only while its worker still holds the lease; only an applied one is announced
(events), dead-lettered on the queue, and — when it ends the execution — lets a
fixed-delay schedule plan its next fire.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

from vecron.alerts.alerter import Alerter
from vecron.batcher import Batcher
from vecron.errors import VecronError
from vecron.events import EventSink
from vecron.execution.outcomes import announce, step_finished
from vecron.metrics import Metrics
from vecron.models.definition import JobDefinition
from vecron.models.execution import Execution, ExecutionStatus, Outcome, StepResult
from vecron.queue.base import Queue
from vecron.scheduling.fixed_delay import FixedDelay
from vecron.scheduling.wakeup import Wakeup
from vecron.store.base import Store
from vecron.telemetry import get_logger

log = get_logger("vecron.execution.recorder")


class OutcomeRecorder:
    def __init__(
        self,
        store: Store,
        queue: Queue,
        events: EventSink,
        fixed_delay: FixedDelay,
        *,
        lease: timedelta,
        wakeup: Wakeup | None = None,
        batch_size: int = 500,
        alerts: Alerter | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.metrics = metrics or Metrics()
        self.queue = queue
        self.events = events
        self.fixed_delay = fixed_delay
        self.lease = lease
        self.wakeup = wakeup
        self.alerts = alerts
        self._records: Batcher[tuple[list[StepResult], Outcome | None], bool] = Batcher(
            self._record_batch, max_size=batch_size
        )

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

    async def checkpoint(self, execution: Execution, result: StepResult) -> None:
        """Record a finished step before the next one starts: a resumed run starts after
        it."""
        await self._records.submit(([result], None))
        self.events.emit(step_finished(execution, result))

    async def settle(
        self,
        execution: Execution,
        outcome: Outcome,
        results: Sequence[StepResult] = (),
        *,
        definition: JobDefinition | None = None,
    ) -> bool:
        """Record ``outcome`` with ``results`` (of job version ``definition``, when
        known); then announce it. False: the lease was lost, nothing was recorded."""
        if not await self._records.submit((list(results), outcome)):
            log.warning("lost the lease before finishing", execution_id=execution.id)
            return False
        for event in announce(execution, outcome, results):
            self.events.emit(event)
        self.metrics.settled(execution, outcome)
        if outcome.status is ExecutionStatus.QUEUED:  # a retry: due later, or at once
            if self.wakeup is not None:
                self.wakeup.notify()
            return True
        if outcome.dead_letter:
            await self.queue.dead_letter(execution.id, outcome.error or outcome.status.value)
        started = outcome.started_at
        log.info(
            "execution finished",
            execution_id=execution.id,
            job=execution.job_name,
            status=outcome.status.value,
            attempt=execution.attempt,
            seconds=round((outcome.at - started).total_seconds(), 3) if started else None,
            error=outcome.error,
        )
        await self.fixed_delay.finished(execution, definition, outcome.at)
        if self.alerts is not None:
            await self.alerts.finished(execution, outcome, definition)
        return True

    async def hand_back(self, outcomes: Sequence[Outcome]) -> None:
        """Record hand-backs at shutdown at once (no batching: the loop is ending)."""
        if not outcomes:
            return
        try:
            await self.store.record([], outcomes)
        except VecronError as exc:  # their leases expire and the reconciler re-sends them
            log.warning("could not hand executions back", count=len(outcomes), error=str(exc))
            return
        log.info("handed executions back", count=len(outcomes))

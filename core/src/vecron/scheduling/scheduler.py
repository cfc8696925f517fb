"""The scheduler: turns due fire times into executions, exactly once per fire time.

It sleeps until the earliest ``next_fire_at`` (an index lookup, never a scan of all
jobs) minus a short look-ahead, creates the executions due in that window in one
transaction per batch, and hands them to the queue. Workers start each one at its fire
time, so the database work is done before the instant it is due.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from vecron.alerts.alerter import Alerter
from vecron.clock import utcnow
from vecron.errors import FencedOut, VecronError
from vecron.events import EventSink, ExecutionCreated, ExecutionMissed, NullSink
from vecron.ids import new_id
from vecron.jobs.firetimes import JobSchedule
from vecron.lock.base import Lock
from vecron.metrics import Metrics
from vecron.models.execution import Execution, NewExecution, OccurrenceStatus
from vecron.models.job import JobRecord
from vecron.models.policy import TriggerPolicy
from vecron.plugin.registry import Registry
from vecron.queue.base import Queue, QueueMessage
from vecron.scheduling.relay import Relay
from vecron.scheduling.wakeup import Wakeup
from vecron.store.base import AppliedFires, JobFires, NewOccurrence, Store
from vecron.telemetry import get_logger

log = get_logger("vecron.scheduling.scheduler")

#: How often the leader looks for stranded executions.
RECONCILE_EVERY = timedelta(seconds=5)

#: Missed fires itemised in the ledger per job and tick; older ones are summarised.
MAX_ITEMISED_MISSES = 1000
#: Fires of one job planned in one tick; the rest wait for the next tick (a 0.1 s period
#: inside an hour of misfire grace would otherwise plan 36,000 in one transaction).
MAX_FIRES_PER_TICK = 1000
#: Ledger states of fire times the misfire policy did not run.
_DROPPED = frozenset({OccurrenceStatus.MISSED, OccurrenceStatus.COALESCED})


@dataclass(slots=True)
class TickReport:
    jobs: int = 0
    created: list[Execution] = field(default_factory=list)
    republished: int = 0


def _dropped(applied: AppliedFires) -> list[NewOccurrence]:
    """The fire times of a committed batch that the misfire policy did not run."""
    return [
        occurrence
        for decision in applied.decisions
        for occurrence in decision.occurrences
        if occurrence.status in _DROPPED
    ]


def fire_key(job_id: str, fire: datetime) -> str:
    return f"{job_id}@{fire.isoformat()}"


class Scheduler:
    def __init__(
        self,
        store: Store,
        queue: Queue,
        registry: Registry,
        *,
        wakeup: Wakeup,
        lock: Lock | None = None,
        lock_ttl: float = 10.0,
        lookahead: float = 1.0,
        batch_size: int = 500,
        reconcile_grace: float = 60.0,
        clock: Callable[[], datetime] | None = None,
        owner: str | None = None,
        events: EventSink | None = None,
        alerts: Alerter | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.alerts = alerts
        self.metrics = metrics or Metrics()
        self.events: EventSink = events or NullSink()
        self.queue = queue
        self.registry = registry
        self.wakeup = wakeup
        self.lock = lock
        self.lock_ttl = lock_ttl
        self.lookahead = timedelta(seconds=lookahead)
        self.batch_size = batch_size
        self.relay = Relay(store, queue, batch_size=batch_size)
        self.reconcile_grace = timedelta(seconds=reconcile_grace)
        self._fixed_clock = clock
        self._offset = timedelta(0)
        self.owner = owner or f"scheduler-{new_id()}"
        #: The leadership epoch this scheduler writes under; None while not leading.
        self.epoch: int | None = None
        self._schedules: dict[tuple[str, int], JobSchedule] = {}
        self._last_reconcile: datetime | None = None
        self.last_tick_seconds = 0.0

    def clock(self) -> datetime:
        """The database's time: every scheduler agrees on when a job is due."""
        if self._fixed_clock is not None:
            return self._fixed_clock()
        return utcnow() + self._offset

    def schedule_of(self, job: JobRecord) -> JobSchedule:
        key = (job.id, job.version)
        schedule = self._schedules.get(key)
        if schedule is None:
            if len(self._schedules) > 200_000:
                self._schedules.clear()
            schedule = self._schedules[key] = JobSchedule(job.definition, self.registry)
        return schedule

    async def run(self, stop: asyncio.Event) -> None:
        """Lead (or stand by) until ``stop``; then finish the tick and release the lock."""
        log.info("scheduler started", owner=self.owner, lookahead=self.lookahead.total_seconds())
        renew = self.lock_ttl / 3
        backoff = 0.5
        try:
            while not stop.is_set():
                try:
                    leading = await self.lead()
                    if not leading:
                        await self._sleep(stop, renew)  # standby: try again within the TTL
                        continue
                    await self.tick()
                    wake = await self.store.next_wakeup()
                except FencedOut as exc:
                    log.warning("fenced out: another scheduler leads", error=str(exc))
                    await self._step_down(lost=True)
                    continue
                except Exception as exc:  # a backend is down or restarting: retry, never crash
                    log.warning(
                        "scheduler tick failed; retrying", error=str(exc)[:500], retry_in=backoff
                    )
                    await self._sleep(stop, backoff)
                    backoff = min(backoff * 2, 10.0)
                    continue
                backoff = 0.5
                delay = (
                    None if wake is None else (wake - self.lookahead - self.clock()).total_seconds()
                )
                if delay is None or delay > 0:
                    # Never sleep past the lock renewal, or a standby would take over.
                    await self._sleep(
                        stop, renew if delay is None else min(delay, renew), wake=True
                    )
        finally:
            await self._step_down()
            log.info("scheduler stopped", owner=self.owner)

    async def lead(self) -> bool:
        """Hold (or take) the lock; on taking it, be elected: a new epoch fences the last
        leader's writes, and the database clock is sampled."""
        if self.lock is not None:
            try:
                held = await self.lock.acquire("scheduler", self.owner, self.lock_ttl)
            except VecronError as exc:
                log.warning("scheduler lock unavailable", error=str(exc))
                held = False
            if not held:
                if self.epoch is not None:
                    log.warning("lost the scheduler lock; standing by", owner=self.owner)
                    self.epoch = None
                    self.metrics.stepped_down(lost=True)
                return False
        if self.epoch is None:
            local = utcnow()
            self._offset = (await self.store.now()) - local
            self.epoch = await self.store.elect(self.owner, self.clock())
            self._last_reconcile = None  # adopt whatever the last leader left behind
            self.metrics.elected(self.epoch)
            log.info("leading the schedule", owner=self.owner, epoch=self.epoch)
        return True

    async def _step_down(self, *, lost: bool = False) -> None:
        if self.epoch is not None:
            self.metrics.stepped_down(lost=lost)
        self.epoch = None
        if self.lock is not None:
            try:
                await self.lock.release("scheduler", self.owner)
            except VecronError as exc:
                log.warning("could not release the scheduler lock", error=str(exc))

    async def _sleep(self, stop: asyncio.Event, seconds: float, *, wake: bool = False) -> None:
        stopping = asyncio.create_task(stop.wait())
        waiting = asyncio.create_task(self.wakeup.wait(seconds) if wake else asyncio.sleep(seconds))
        await asyncio.wait({stopping, waiting}, return_when=asyncio.FIRST_COMPLETED)
        for task in (stopping, waiting):
            task.cancel()

    async def tick(self) -> TickReport:
        """Create every execution due up to now + look-ahead, then publish pending ones."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        report = TickReport()
        now = self.clock()
        horizon = now + self.lookahead
        while True:
            jobs = await self.store.due_jobs(horizon, self.batch_size)
            if not jobs:
                break
            fires = [self.plan(job, now, horizon) for job in jobs]
            created = await self.store.apply_fires(fires, epoch=self.epoch)
            self._announce(created, now)
            if self.alerts is not None:
                self.alerts.missed(jobs, _dropped(created), now)
            self._count(created, {job.id: job.name for job in jobs})
            report.jobs += len(jobs)
            report.created.extend(created)
            await self.relay.publish(created)
            if len(jobs) < self.batch_size:
                break
        # Retries that came due, manual runs, and anything a crash left unpublished.
        report.republished += await self.relay.publish_pending(horizon)
        await self.reconcile(now)
        self.last_tick_seconds = loop.time() - started
        if report.created or report.republished:
            log.debug(
                "tick",
                jobs=report.jobs,
                created=len(report.created),
                republished=report.republished,
                seconds=round(self.last_tick_seconds, 4),
            )
        return report

    async def reconcile(self, now: datetime) -> int:
        """Hand stranded executions to the queue again (ARCHITECTURE §5 step 7): running
        ones whose worker died (lease expired) and queued ones the broker lost. Claims
        de-duplicate, so re-sending one that was not lost costs nothing but a message."""
        if self._last_reconcile is not None and now - self._last_reconcile < RECONCILE_EVERY:
            return 0
        # Right after an election everything unclaimed is adopted at once: with the
        # in-process queue nothing survived the previous process.
        grace = timedelta(0) if self._last_reconcile is None else self.reconcile_grace
        self._last_reconcile = now
        stranded = await self.store.stranded(
            now=now, unclaimed_before=now - grace, limit=self.batch_size * 4
        )
        if stranded:
            log.warning("re-sending stranded executions", count=len(stranded))
            await self.queue.publish(
                [QueueMessage(e.id, e.not_before, e.attempt, resend=True) for e in stranded]
            )
        return len(stranded)

    def _announce(self, applied: AppliedFires, now: datetime) -> None:
        """Events of a committed batch: the executions created and the fire times the
        misfire policy dropped (missed, or coalesced into a later fire)."""
        for execution in applied:
            self.events.emit(
                ExecutionCreated(
                    at=now,
                    execution_id=execution.id,
                    job_id=execution.job_id,
                    trigger="schedule",
                    fire_time=execution.scheduled_at,
                )
            )
        for occurrence in _dropped(applied):
            self.events.emit(
                ExecutionMissed(
                    at=now,
                    job_id=occurrence.job_id,
                    fire_time=occurrence.fire_time,
                    reason=occurrence.reason or occurrence.status.value,
                )
            )

    def _count(self, applied: AppliedFires, names: dict[str, str]) -> None:
        """The ledger rows of a committed batch, by job and what became of each."""
        for decision in applied.decisions:
            name = names[decision.job_id]
            self.metrics.occurrences(name, (o.status.value for o in decision.occurrences))

    def plan(self, job: JobRecord, now: datetime, horizon: datetime) -> JobFires:
        """Decide what the fire times of ``job`` up to ``horizon`` become: the job's
        :class:`~vecron.models.policy.TriggerPolicy` (misfire, jitter) judges them, the
        same object the trigger service admits manual and webhook runs with."""
        assert job.next_fire_at is not None
        schedule = self.schedule_of(job)
        policy = TriggerPolicy(job.definition)
        due: list[datetime] = []
        fire: datetime | None = job.next_fire_at
        late_count = 0
        summarised: datetime | None = None
        while fire is not None and fire <= horizon and len(due) < MAX_FIRES_PER_TICK:
            if policy.late(fire, now):
                late_count += 1
                if late_count > MAX_ITEMISED_MISSES:  # jump over a long outage
                    summarised = fire
                    fire = schedule.next_after(now - policy.grace, job, include_after_finish=False)
                    late_count = 0
                    continue
            due.append(fire)
            # Fixed-delay triggers are not asked here: they wait for this run's finish.
            fire = schedule.next_after(fire, job, include_after_finish=False)
        decision = policy.misfires(due, now)
        occurrences: list[NewOccurrence] = []
        if summarised is not None:
            occurrences.append(
                NewOccurrence(
                    job_id=job.id,
                    fire_time=summarised,
                    status=OccurrenceStatus.MISSED,
                    reason="scheduler was down; earlier misses not itemised",
                )
            )
        occurrences += [
            NewOccurrence(job_id=job.id, fire_time=d.fire_time, status=d.status, reason=d.reason)
            for d in decision.dropped
        ]
        kind = self._trigger_kind(schedule)
        executions = []
        for f in decision.run:
            execution = NewExecution(
                id=new_id(),
                job_id=job.id,
                job_name=job.name,
                job_version=job.version,
                idempotency_key=fire_key(job.id, f),
                trigger=kind,
                triggered_by="scheduler",
                scheduled_at=f,
                not_before=policy.start_at(job.id, f, now),
                max_attempts=job.definition.retry.max_attempts,
                created_at=now,
            )
            executions.append(execution)
            occurrences.append(
                NewOccurrence(
                    job_id=job.id,
                    fire_time=f,
                    status=OccurrenceStatus.FIRED,
                    execution_id=execution.id,
                )
            )
        if not executions and fire is None and schedule.waits_for_finish:
            # Nothing will finish to restart a fixed delay, so count it from now.
            fire = schedule.next_after(now, job, finished_at=now)
        return JobFires(
            job_id=job.id,
            expected_next_fire_at=job.next_fire_at,
            new_next_fire_at=fire,
            executions=executions,
            occurrences=occurrences,
        )

    @staticmethod
    def _trigger_kind(schedule: JobSchedule) -> str:
        kinds = {t.kind for t in schedule.triggers}
        return kinds.pop() if len(kinds) == 1 else "schedule"

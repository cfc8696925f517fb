"""Fixed-delay schedules count from the previous run's finish, so their next fire time
is known only when an execution ends: :meth:`FixedDelay.finished` plans it then.

The scheduler plans every other fire time itself; it leaves a fixed-delay trigger out
right after a fire (``include_after_finish=False``) and the worker calls this when the
execution ends, without knowing which kinds of trigger a job has.
"""

from __future__ import annotations

from datetime import datetime

from vecron.errors import VecronError
from vecron.jobs.firetimes import JobSchedule
from vecron.models.definition import JobDefinition
from vecron.models.execution import Execution
from vecron.plugin.registry import Registry
from vecron.scheduling.wakeup import Wakeup
from vecron.store.base import Store
from vecron.telemetry import get_logger

log = get_logger("vecron.scheduling.fixed_delay")


class FixedDelay:
    def __init__(self, store: Store, registry: Registry, wakeup: Wakeup | None = None) -> None:
        self.store = store
        self.registry = registry
        self.wakeup = wakeup

    def waits_for_finish(self, definition: JobDefinition) -> bool:
        """Does any trigger of ``definition`` count from the previous finish?"""
        try:
            return any(self.registry.trigger(t.type).after_finish for t in definition.triggers)
        except VecronError:  # a trigger type no longer installed: nothing plans it
            return False

    async def finished(
        self, execution: Execution, definition: JobDefinition | None, at: datetime
    ) -> None:
        """``execution`` (of job version ``definition``; None when that version is gone)
        ended at ``at``: plan its job's next fixed-delay fire from then and wake the
        scheduler. Nothing to do for other jobs, a disabled job or a newer version (its
        save planned the next fire)."""
        if definition is None or not self.waits_for_finish(definition):
            return
        try:
            job = await self.store.get_job(execution.job_id)
        except VecronError:
            return
        if not job.enabled or job.version != execution.job_version:
            return
        try:
            schedule = JobSchedule(job.definition, self.registry)
        except VecronError as exc:
            log.warning("fixed delay not restarted", job=job.name, error=exc.one_line())
            return
        candidate = schedule.next_after(at, job, finished_at=at)
        upcoming = [t for t in (job.next_fire_at, candidate) if t is not None]
        await self.store.set_next_fire(
            job.id, min(upcoming) if upcoming else None, last_finished_at=at
        )
        if self.wakeup is not None:
            self.wakeup.notify()

"""When a job fires next: its triggers combined, with start/end and DST policy."""

from __future__ import annotations

from datetime import datetime
from functools import cached_property

from vecron.models.definition import JobDefinition
from vecron.models.job import JobRecord
from vecron.plugin.registry import Registry
from vecron.plugin.trigger import ScheduleContext, Trigger, TriggerState


class JobSchedule:
    """The scheduled triggers of one job version, built once and reused every tick."""

    def __init__(self, definition: JobDefinition, registry: Registry) -> None:
        from vecron.jobs.documents import check_timezone

        self.definition = definition
        context = ScheduleContext(
            tz=check_timezone(definition.timezone),
            start_at=definition.start_at,
            end_at=definition.end_at,
            dst_gap=definition.dst.gap,
            dst_fold=definition.dst.fold,
        )
        triggers: list[Trigger] = []
        for spec in definition.triggers:
            cls = registry.trigger(spec.type)
            if cls.scheduled:
                triggers.append(cls(cls.Config.model_validate(spec.config), context))
        self.triggers = triggers

    @cached_property
    def waits_for_finish(self) -> bool:
        return any(t.after_finish for t in self.triggers)

    def next_after(
        self,
        after: datetime,
        job: JobRecord | None,
        *,
        finished_at: datetime | None = None,
        include_after_finish: bool = True,
        created_at: datetime | None = None,
    ) -> datetime | None:
        """The earliest fire strictly after ``after`` over all scheduled triggers.

        Triggers that count from the previous finish (fixed delay) are asked only when
        ``include_after_finish``: right after a fire they wait for the finish instead.
        A job not saved yet passes the ``created_at`` it will be saved with: intervals
        count from the job's start, and the first fire must be planned from the same
        anchor as every later one (two anchors a microsecond apart are two fire times).
        """
        anchor = self.definition.start_at or (job.created_at if job else created_at or after)
        state = TriggerState(
            anchor=anchor, last_finished_at=finished_at or (job.last_finished_at if job else None)
        )
        best: datetime | None = None
        for trigger in self.triggers:
            if trigger.after_finish and not include_after_finish:
                continue
            candidate = trigger.next_fire_time(after, state)
            if candidate is not None and (best is None or candidate < best):
                best = candidate
        return best

"""Deciding alerts, in one place per kind of change, from what the store holds.

- An execution's end (the worker, right after its outcome was recorded): the job's
  failure streak is advanced in the store, under its row lock, so that two workers
  finishing executions of one job count both and alert once; the state survives
  restarts. Failing, recovered and dead-letter alerts come from here.
- Fire times the misfire policy dropped (the scheduler, as leader, right after it
  recorded them in the ledger): the missed alert.

Sending is handed to :class:`~vecron.alerts.delivery.Deliveries`' background tasks: an
alert never delays nor fails the execution that raised it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from vecron.alerts.delivery import Deliveries
from vecron.alerts.streaks import after_finish
from vecron.batcher import Batcher
from vecron.ids import new_id
from vecron.models.alerts import AlertRules, AlertSettings, AlertState, EffectiveRules
from vecron.models.definition import JobDefinition
from vecron.models.execution import Execution, ExecutionStatus, OccurrenceStatus, Outcome
from vecron.models.job import JobRecord
from vecron.plugin.notifier import Alert, AlertKind
from vecron.secrets.redaction import EXCERPT_CHARS
from vecron.store.base import NewOccurrence, Store
from vecron.telemetry import get_logger

log = get_logger("vecron.alerts")

#: Ends that count in a streak: a success ends it, a failure or timeout grows it.
#: Cancelled and skipped executions say nothing about the job's health.
_COUNTED = frozenset({ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT})


@dataclass(frozen=True, slots=True)
class _Finish:
    execution: Execution
    outcome: Outcome
    rules: EffectiveRules


class Alerter:
    """Decides alerts and hands them to ``deliveries``. Jobs whose rules name no
    notifier cost nothing: no state is kept for them."""

    def __init__(self, store: Store, deliveries: Deliveries, *, batch_size: int = 500) -> None:
        self.store = store
        self.deliveries = deliveries
        self.settings: AlertSettings = deliveries.settings
        self._finishes: Batcher[_Finish, None] = Batcher(self._advance, max_size=batch_size)
        #: Execution ends this process has counted, their alerts handed to deliveries.
        self.counted = 0

    def rules(self, definition: JobDefinition | None) -> EffectiveRules | None:
        """A job's rules over the settings' defaults; None when they name no notifier."""
        if definition is None or not self.settings.notifiers:
            return None
        rules = (definition.alerts or AlertRules()).over(self.settings)
        return rules if rules.notify else None

    async def finished(
        self, execution: Execution, outcome: Outcome, definition: JobDefinition | None
    ) -> None:
        """An execution ended with ``outcome`` (recorded). Never raises: alerting that
        fails is logged and leaves the execution as it is."""
        rules = self.rules(definition)
        if rules is None or outcome.status not in _COUNTED:
            return
        try:
            await self._finishes.submit(_Finish(execution, outcome, rules))
        except Exception as exc:  # the store is down: this end is not counted
            log.warning(
                "could not record alert state",
                job=execution.job_name,
                execution_id=execution.id,
                error=str(exc)[:300],
            )

    async def _advance(self, finishes: Sequence[_Finish]) -> list[None]:
        raised: list[tuple[Alert, tuple[str, ...]]] = []

        def step(states: Mapping[str, AlertState]) -> dict[str, AlertState]:
            raised.clear()
            after = dict(states)
            for finish in sorted(finishes, key=lambda f: f.outcome.at):
                job_id = finish.execution.job_id
                before = after.get(job_id, AlertState())
                failed = finish.outcome.status is not ExecutionStatus.SUCCEEDED
                after[job_id], kind = after_finish(
                    before, failed=failed, rules=finish.rules, now=finish.outcome.at
                )
                if kind is not None:
                    streak = after[job_id].streak if failed else before.streak
                    raised.append((self._alert(kind, finish, streak), finish.rules.notify))
                if finish.outcome.dead_letter and finish.rules.on_dead_letter:
                    alert = self._alert(AlertKind.DEAD_LETTER, finish, after[job_id].streak)
                    raised.append((alert, finish.rules.notify))
            return after

        await self.store.advance_alerts([f.execution.job_id for f in finishes], step)
        # Only after the commit: a rolled-back step raised nothing.
        for alert, names in raised:
            self.deliveries.send(alert, names)
        self.counted += len(finishes)
        return [None] * len(finishes)

    @staticmethod
    def _alert(kind: AlertKind, finish: _Finish, streak: int) -> Alert:
        error = finish.outcome.error
        return Alert(
            id=new_id(),
            kind=kind,
            at=finish.outcome.at,
            job_id=finish.execution.job_id,
            job_name=finish.execution.job_name,
            streak=streak,
            # Masked when the worker recorded it; cut as every quoted error is.
            error=error[:EXCERPT_CHARS] if error and kind is not AlertKind.RECOVERED else None,
            execution_id=finish.execution.id,
        )

    def missed(
        self, jobs: Sequence[JobRecord], dropped: Sequence[NewOccurrence], at: datetime
    ) -> None:
        """The misfire policy dropped ``dropped`` fire times (recorded in the ledger) of
        ``jobs``: one alert per job that lost runs. Fires coalesced into a later run
        (``run_once``) were not lost: they ran as that one."""
        counts = Counter(o.job_id for o in dropped if o.status is OccurrenceStatus.MISSED)
        for job in jobs:
            if not counts[job.id]:
                continue
            rules = self.rules(job.definition)
            if rules is None or not rules.on_missed:
                continue
            alert = Alert(
                id=new_id(),
                kind=AlertKind.MISSED,
                at=at,
                job_id=job.id,
                job_name=job.name,
                missed=counts[job.id],
            )
            self.deliveries.send(alert, rules.notify)

    async def close(self, grace: float = 5.0) -> None:
        """Let pending deliveries finish for ``grace`` seconds; cancel the rest."""
        await self.deliveries.drain(grace)

"""The trigger policy (S13.3): one object every way a job starts goes through.

The scheduler plans a job's fire times in batches and asks it what each becomes (the
misfire policy: run, missed, coalesced) and when each may start (jitter); the trigger
service asks it whether a run of a given kind may start now (the job is enabled and
allows that kind) and whether the run must hold the job alone (the overlap policy). So a
scheduled, a manual and a webhook run of one job are judged by the same rules:

- **kinds** — a job is started by the kinds of its ``triggers`` and, unless
  ``policy.allow_manual`` is false, by hand (CLI, API, dashboard): as in Airflow and
  Kestra, every job can be run by hand unless it says otherwise. A job whose only
  trigger is ``manual`` is never scheduled;
- **enabled** — a disabled job is neither scheduled nor started on request;
- **overlap** — with ``overlap: skip`` an execution holds the job from its admission to
  its end (:mod:`vecron.models.overlap`); the store refuses a manual or webhook run while
  one does, inside the insert's transaction, and the worker skips a scheduled run that
  starts while one does. Either way the refusal is reported with its reason: the answer
  (HTTP 409) for a run asked for, the ledger for a fire time;
- **misfire** — a fire time more than ``misfire_grace`` late runs or not by
  ``policy.misfire``; an event-driven run has no fire time, so it never misfires.

A leaf of the models layer: no store, no registry (whether a kind is scheduled is the
caller's knowledge).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from vecron.errors import TriggerForbidden
from vecron.models import overlap
from vecron.models.definition import JobDefinition, MisfirePolicy
from vecron.models.execution import OccurrenceStatus

#: The kind of a run started by hand (CLI, API, dashboard).
MANUAL = "manual"
#: Reasons of :class:`~vecron.errors.TriggerForbidden`.
JOB_DISABLED = "job-disabled"
KIND_NOT_ALLOWED = "trigger-not-allowed"


@dataclass(frozen=True, slots=True, kw_only=True)
class Dropped:
    """A fire time the misfire policy does not run, for the ledger."""

    fire_time: datetime
    status: OccurrenceStatus
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MisfireDecision:
    """What a job's due fire times become: those that run (in order) and the rest."""

    run: list[datetime] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)


def jitter_offset(job_id: str, fire: datetime, jitter: float) -> timedelta:
    """A stable pseudo-random start delay: the same fire always gets the same offset."""
    if jitter <= 0:
        return timedelta(0)
    digest = hashlib.blake2b(f"{job_id}@{fire.isoformat()}".encode(), digest_size=8).digest()
    return timedelta(seconds=jitter * int.from_bytes(digest, "big") / 2**64)


@dataclass(frozen=True, slots=True)
class TriggerPolicy:
    """The rules of one job version for every trigger path."""

    definition: JobDefinition

    # -- kinds ----------------------------------------------------------------------
    @property
    def kinds(self) -> frozenset[str]:
        """The trigger kinds that may start the job: its triggers' types, and
        ``manual`` unless ``policy.allow_manual`` is false."""
        declared = {spec.type for spec in self.definition.triggers}
        if self.definition.policy.allow_manual:
            declared.add(MANUAL)
        return frozenset(declared)

    def admit(self, name: str, kind: str, *, enabled: bool) -> None:
        """May a run of ``kind`` start the job ``name`` now?

        :raises TriggerForbidden: the job is disabled (reason ``job-disabled``) or does
            not allow ``kind`` (reason ``trigger-not-allowed``, with the kinds it allows).
        """
        if not enabled:
            raise TriggerForbidden(
                f"job {name!r} is disabled; enable it to run it",
                reason=JOB_DISABLED,
                params={"job": name},
            )
        allowed = self.kinds
        if kind not in allowed:
            raise TriggerForbidden(
                f"job {name!r} does not allow {kind} runs; it allows: "
                + (", ".join(sorted(allowed)) or "none"),
                reason=KIND_NOT_ALLOWED,
                params={"kind": kind, "allowed": sorted(allowed)},
            )

    # -- overlap --------------------------------------------------------------------
    @property
    def exclusive(self) -> bool:
        """Does the job run one execution at a time (``overlap: skip``)?"""
        return overlap.exclusive(self.definition)

    # -- misfire and jitter (fire times) --------------------------------------------
    @property
    def grace(self) -> timedelta:
        return timedelta(seconds=self.definition.policy.misfire_grace)

    def late(self, fire: datetime, now: datetime) -> bool:
        """Is ``fire`` past its grace at ``now`` (the misfire policy decides it)?"""
        return now - fire > self.grace

    def misfires(self, due: Sequence[datetime], now: datetime) -> MisfireDecision:
        """What each of ``due`` (a job's fire times, in order) becomes at ``now``: on
        time, it runs; late, ``skip`` drops it (missed), ``run_once`` runs the last late
        one unless one is on time (the rest coalesced), ``run_all`` runs the last
        ``run_all_cap`` late ones (older ones missed)."""
        policy = self.definition.policy
        late = [f for f in due if self.late(f, now)]
        on_time = [f for f in due if not self.late(f, now)]
        if policy.misfire is MisfirePolicy.SKIP:
            kept: list[datetime] = []
        elif policy.misfire is MisfirePolicy.RUN_ONCE:
            kept = [] if on_time else late[-1:]
        else:
            kept = late[-policy.run_all_cap :]
        if policy.misfire is MisfirePolicy.RUN_ONCE:
            status, reason = OccurrenceStatus.COALESCED, "misfire policy run_once"
        else:
            status, reason = OccurrenceStatus.MISSED, f"misfire policy {policy.misfire.value}"
        running = set(kept)
        return MisfireDecision(
            run=sorted([*on_time, *kept]),
            dropped=[
                Dropped(fire_time=f, status=status, reason=reason) for f in late if f not in running
            ],
        )

    def start_at(self, job_id: str, fire: datetime, now: datetime) -> datetime:
        """When the run of fire time ``fire`` may start: not before now, spread by the
        job's jitter (the same fire always gets the same delay)."""
        return max(fire, now) + jitter_offset(job_id, fire, self.definition.policy.jitter)

"""Reading jobs: one job, a page of jobs with their stats, its versions, its ledger.

:class:`JobReading` is the part of :class:`~vecron.services.jobs.JobService` that
changes nothing; every method is authorized (``job:read``) and a refusal audited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from vecron.auth import Permission, Principal
from vecron.errors import NotFoundError
from vecron.plugin.registry import Registry
from vecron.services.audit import Gate
from vecron.services.paging import DEFAULT_LIMIT, Listing, check_limit
from vecron.services.views import JobSummary, JobVersionSummary, JobView, LedgerEntry, Page
from vecron.store.base import Store

#: Made once: pydantic keeps a parametrized model only while something refers to it,
#: and making it again on every call costs most of a millisecond.
JobPage = Page[JobSummary]


#: How far back a job's ``success_rate`` looks.
STATS_WINDOW = timedelta(days=7)


def job_resource(name: str) -> str:
    return f"job:{name}"


class JobReading:
    """Reads of jobs, for :class:`~vecron.services.jobs.JobService`."""

    store: Store
    registry: Registry
    gate: Gate
    clock: Callable[[], datetime]

    async def get(self, principal: Principal, ref: str) -> JobView:
        """One job (by name or id) with its definition, secret fields masked, and its
        stats (as :meth:`list_jobs`). Permission ``job:read``.

        :raises NotFoundError: no such job.
        :raises PermissionDenied: without ``job:read``.
        """
        await self.gate.check(principal, Permission.JOB_READ, "job.read", job_resource(ref))
        job = await self.store.get_job(ref)
        stats = await self.store.job_stats([job.id], since=self.clock() - STATS_WINDOW)
        return JobView.masked(job, self.registry, stats.get(job.id))

    async def list_jobs(
        self,
        principal: Principal,
        *,
        enabled: bool | None = None,
        search: str | None = None,
        cursor: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> Page[JobSummary]:
        """Jobs by name, a page of at most ``limit`` (1 to 500), each with its stats:
        ``last_status`` (of its latest finished execution), ``success_rate`` (of its
        executions finished in the last 7 days that ran to an end) and ``next_fire_at``.
        Only enabled (or disabled) ones with ``enabled``; only those whose name holds
        ``search``, in any case. ``cursor``: the previous page's ``next_cursor``, with
        the same filters. The stats of a page are one query over its jobs only.
        Permission ``job:read``.

        :raises ValidationError: ``limit`` out of range; a bad cursor (field ``cursor``).
        :raises PermissionDenied: without ``job:read``.
        """
        await self.gate.check(principal, Permission.JOB_READ, "job.list", "job:*")
        check_limit(limit)
        listing = Listing("jobs", {"enabled": enabled, "search": search or None})
        position = listing.position(cursor, 1)
        async with self.store.reading():
            found = await self.store.list_jobs(
                enabled=enabled,
                search=search or None,
                after=None if position is None else position[0],
                limit=limit + 1,
            )
            stats = await self.store.job_stats(
                [j.id for j in found[:limit]], since=self.clock() - STATS_WINDOW
            )
        items, next_cursor = listing.page(
            found, limit, lambda j: (j.name,), lambda j: JobSummary.of(j, stats.get(j.id))
        )
        return JobPage(items=items, next_cursor=next_cursor)

    async def versions(self, principal: Principal, ref: str) -> list[JobVersionSummary]:
        """Every saved version of the job (by name or id), oldest first: its number,
        when it was saved, whether it is the current one, and what it ran. Permission
        ``job:read``.

        :raises NotFoundError: no such job.
        :raises PermissionDenied: without ``job:read``.
        """
        await self.gate.check(principal, Permission.JOB_READ, "job.versions", job_resource(ref))
        job = await self.store.get_job(ref)
        return [JobVersionSummary.of(v, job.version) for v in await self.store.job_versions(job.id)]

    async def version(self, principal: Principal, ref: str, number: int) -> JobView:
        """The job (by name or id) as version ``number`` defined it, secret fields
        masked: that version's definition, ``version``, triggers, steps and ``enabled``,
        and ``updated_at`` when it was saved; the scheduling state (next fire, last
        finish, stats) is the job's now. Permission ``job:read``.

        :raises NotFoundError: no such job, or no such version of it.
        :raises PermissionDenied: without ``job:read``.
        """
        await self.gate.check(principal, Permission.JOB_READ, "job.version", job_resource(ref))
        job = await self.store.get_job(ref)
        saved = next(
            (v for v in await self.store.job_versions(job.id) if v.version == number), None
        )
        if saved is None:
            raise NotFoundError(
                f"job {job.name!r} has no version {number}",
                field="version",
                reason="version-not-found",
            )
        as_saved = replace(
            job,
            version=saved.version,
            definition=saved.definition,
            enabled=saved.definition.enabled,
            updated_at=saved.saved_at,
        )
        stats = await self.store.job_stats([job.id], since=self.clock() - STATS_WINDOW)
        return JobView.masked(as_saved, self.registry, stats.get(job.id))

    async def ledger(
        self, principal: Principal, ref: str, *, limit: int = 100
    ) -> list[LedgerEntry]:
        """What became of the job's planned fires, newest first: fired, skipped, missed,
        coalesced."""
        await self.gate.check(principal, Permission.JOB_READ, "job.ledger", job_resource(ref))
        job = await self.store.get_job(ref)
        return [LedgerEntry.of(o) for o in await self.store.occurrences(job.id, limit)]

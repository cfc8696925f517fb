"""Jobs: save, create, apply and validate documents, enable, disable, delete; reading
them (show, list, versions, ledger) is :mod:`vecron.services.jobreads`, starting one
:mod:`vecron.services.triggers`.

Every method that reads or changes state takes the acting :class:`~vecron.auth.Principal`
first and is authorized before it touches anything; every change is audited in its own
transaction and announced as an event once committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from vecron.auth import AuditEntry, Permission, Principal
from vecron.clock import utcnow
from vecron.events import ChangeKind, EventSink, JobChanged, NullSink
from vecron.jobs.documents import DEFAULT_LIMITS, json_schema, parse_definition
from vecron.jobs.firetimes import JobSchedule
from vecron.jobs.limits import DocumentLimits
from vecron.models.definition import JobDefinition
from vecron.models.job import JobRecord
from vecron.plugin.registry import Registry
from vecron.services.audit import Gate
from vecron.services.jobfiles import check_documents, document_diff, load_documents
from vecron.services.jobreads import JobReading, job_resource
from vecron.services.transfer import JobTransfer
from vecron.services.variables import VariableService
from vecron.services.views import (
    AppliedDocument,
    CheckedDocument,
    DocumentProblem,
    JobSummary,
    SavedJob,
    ValidationReport,
)
from vecron.services.views.jobs import Change
from vecron.storage import ObjectStorage
from vecron.store.base import SaveResult, Store, VariablesOf


class JobService(JobReading, JobTransfer):
    def __init__(
        self,
        store: Store,
        registry: Registry,
        *,
        default_timezone: str,
        on_change: Callable[[], None] | None = None,
        clock: Callable[[], datetime] = utcnow,
        storage: ObjectStorage | None = None,
        limits: DocumentLimits = DEFAULT_LIMITS,
        events: EventSink | None = None,
        gate: Gate | None = None,
        variables: VariableService | None = None,
        max_import_bytes: int = 10 * 1024 * 1024,
    ) -> None:
        self.limits = limits
        self.variables = variables
        self.max_import_bytes = max_import_bytes
        self.storage = storage
        self.store = store
        self.registry = registry
        self.default_timezone = default_timezone
        self.on_change = on_change
        self.clock = clock
        self.events: EventSink = events or NullSink()
        self.gate = gate or Gate(store, clock=lambda: self.clock())

    # -- reading documents (no state) -----------------------------------------------
    def parse(self, data: Any) -> JobDefinition:
        return parse_definition(
            data, self.registry, default_timezone=self.default_timezone, limits=self.limits
        )

    def parse_text(self, text: str, *, source: str = "<input>") -> list[Any]:
        """JSON or YAML text (a request body) as data under the document limits: a list
        of documents for a JSON array or a ``documents`` list, else the one document.

        :raises ValidationError: a syntax error (with line and column) or a limit.
        """
        from vecron.jobs.documents import parse_text

        data = parse_text(text, source=source, limits=self.limits)
        if isinstance(data, dict) and isinstance(data.get("documents"), list):
            return list(data["documents"])
        return list(data) if isinstance(data, list) else [data]

    def load_path(self, path: Path) -> list[tuple[str, JobDefinition]]:
        """Every job document in a file or folder, all validated before anything is saved.

        :raises ValidationError: the first bad document, naming file and field.
        """
        return load_documents(path, self.parse, limits=self.limits)

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of job documents for the installed executors and triggers."""
        return json_schema(self.registry)

    # -- writing --------------------------------------------------------------------
    def _first_fire(
        self, definition: JobDefinition, job: JobRecord | None, now: datetime
    ) -> datetime | None:
        if not definition.enabled:
            return None
        schedule = JobSchedule(definition, self.registry)
        # A job saved now may fire at `now` itself, so ask for fires after a hair earlier.
        return schedule.next_after(
            now - timedelta(microseconds=1), job, finished_at=None, created_at=now
        )

    async def save(self, principal: Principal, definition: JobDefinition) -> SavedJob:
        """Create the job or update it (a new version when the definition differs)."""
        [saved] = await self.save_many(principal, [definition])
        return saved

    async def save_many(
        self, principal: Principal, definitions: Sequence[JobDefinition]
    ) -> list[SavedJob]:
        """Save several jobs in one transaction: all of them or none."""
        for d in definitions:
            await self.gate.check(principal, Permission.JOB_WRITE, "job.save", job_resource(d.name))
        results = await self._save(principal, definitions)
        return [SavedJob(change=cast(Change, r.change), job=JobSummary.of(r.job)) for r in results]

    async def create(self, principal: Principal, definition: JobDefinition) -> SavedJob:
        """Create the job; never replace one. Permission ``job:write``; audited as
        ``job.create``.

        :raises ConflictError: a job of that name exists (reason ``job-exists``) —
            decided in the saving transaction, so of two creates at once one is refused.
        :raises PermissionDenied: without ``job:write``.
        """
        resource = job_resource(definition.name)
        await self.gate.check(principal, Permission.JOB_WRITE, "job.create", resource)
        [result] = await self._save(principal, [definition], create_only=True)
        return SavedJob(change=cast(Change, result.change), job=JobSummary.of(result.job))

    async def _save(
        self,
        principal: Principal,
        definitions: Sequence[JobDefinition],
        *,
        create_only: bool = False,
        variables: VariablesOf | None = None,
        audit: Sequence[AuditEntry] | None = None,
    ) -> list[SaveResult]:
        """Save in one transaction, with the ``variables`` made from the saves; each
        changed job audited by its entry of ``audit`` (default: ``job.create`` or
        ``job.update``)."""
        now = self.clock()
        current = await self.store.jobs_by_name([d.name for d in definitions])
        entries: Sequence[AuditEntry | None] = audit or [
            self.gate.entry(
                principal,
                "job.update" if d.name in current else "job.create",
                job_resource(d.name),
            )
            for d in definitions
        ]
        results = await self.store.save_jobs(
            [(d, self._first_fire(d, current.get(d.name), now)) for d in definitions],
            now=now,
            audit=entries,
            create_only=create_only,
            variables=variables,
        )
        changed = [r for r in results if r.change != "unchanged"]
        await self._store_documents(changed)
        for r in changed:
            kind = ChangeKind.CREATED if r.change == "created" else ChangeKind.UPDATED
            self._job_changed(principal, r.job, kind)
        return results

    async def _store_documents(self, saved: Sequence[SaveResult]) -> None:
        """Each version's full definition in object storage (S2.2): ``jobs/{id}/v{n}.json``
        beside ``jobs/{id}/definition.json``, the current one."""
        if self.storage is None or not saved:
            return
        storage = self.storage
        limit = asyncio.Semaphore(16)

        async def put(result: SaveResult) -> None:
            document = result.job.definition.model_dump(mode="json")
            async with limit:
                await storage.put_json(f"jobs/{result.job.id}/v{result.job.version}.json", document)
                await storage.put_json(f"jobs/{result.job.id}/definition.json", document)

        await asyncio.gather(*(put(r) for r in saved))

    async def apply(
        self, principal: Principal, path: Path, *, dry_run: bool = False
    ) -> list[AppliedDocument]:
        """Create or update every job in ``path`` (a file or a folder of them): all
        documents are validated first and saved in one transaction, so one bad document
        saves nothing. Permission ``job:write``; each change audited (``job.create``,
        ``job.update``).

        :raises ValidationError: the first bad document, naming its file and field.
        :raises PermissionDenied: without ``job:write``.
        """
        loaded = self.load_path(path)
        for _, d in loaded:
            await self.gate.check(
                principal, Permission.JOB_WRITE, "job.apply", job_resource(d.name)
            )
        return await self._apply(principal, loaded, dry_run=dry_run)

    async def apply_documents(
        self,
        principal: Principal,
        documents: Sequence[tuple[str, Any]],
        *,
        dry_run: bool = False,
    ) -> list[AppliedDocument]:
        """:meth:`apply` for documents already read: ``(source, data)`` pairs (a source
        labels the document in problems and results: ``documents[2]``; a list as data
        is several documents). Every problem of every document is found before anything
        is saved (:meth:`validate`'s); then all are saved in one transaction, each
        ``created``, ``updated`` (with a diff, secret fields masked) or ``unchanged``.
        Permission ``job:write``; each change audited (``job.create``, ``job.update``).

        :raises ValidationError: every problem of every document, each naming its source
            and field (a job named twice: ``duplicate-name``); or no documents.
        :raises PermissionDenied: without ``job:write``.
        """
        await self.gate.check(principal, Permission.JOB_WRITE, "job.apply", "job:*")
        checked = check_documents(documents, self.parse)
        error = checked.error()
        if error is not None:
            raise error
        return await self._apply(principal, checked.parsed, dry_run=dry_run)

    async def validate(
        self, principal: Principal, documents: Sequence[tuple[str, Any]]
    ) -> ValidationReport:
        """A dry run: check ``(source, data)`` documents as :meth:`apply_documents` would
        and report every problem of every one (field, message, code, source); save
        nothing, and audit nothing (nothing changes). Permission ``job:write``.

        :raises ValidationError: no documents at all.
        :raises PermissionDenied: without ``job:write``.
        """
        await self.gate.check(principal, Permission.JOB_WRITE, "job.validate", "job:*")
        checked = check_documents(documents, self.parse)
        return ValidationReport(
            valid=not checked.problems,
            documents=[
                CheckedDocument(source=source, name=name, valid=valid)
                for source, name, valid in checked.documents
            ],
            problems=[DocumentProblem.of(p) for p in checked.problems],
        )

    async def _apply(
        self,
        principal: Principal,
        loaded: Sequence[tuple[str, JobDefinition]],
        *,
        dry_run: bool,
    ) -> list[AppliedDocument]:
        current = await self.store.jobs_by_name([d.name for _, d in loaded])
        if dry_run:
            versions: list[tuple[Change, int]] = []
            for _, definition in loaded:
                job = current.get(definition.name)
                change: Change = (
                    "created"
                    if job is None
                    else ("unchanged" if job.definition == definition else "updated")
                )
                versions.append((change, (job.version if job else 0) + (change != "unchanged")))
        else:
            saved = await self._save(principal, [d for _, d in loaded])
            versions = [(cast(Change, r.change), r.job.version) for r in saved]
        return [
            AppliedDocument(
                name=definition.name,
                source=source,
                change=change,
                version=version,
                diff=document_diff(
                    current[definition.name].definition if definition.name in current else None,
                    definition,
                    self.registry,
                ),
            )
            for (source, definition), (change, version) in zip(loaded, versions, strict=True)
        ]

    async def set_enabled(self, principal: Principal, ref: str, enabled: bool) -> JobSummary:
        """Schedule the job again from now, or stop scheduling it (executions not started
        yet are cancelled)."""
        action = "job.enable" if enabled else "job.disable"
        await self.gate.check(principal, Permission.JOB_WRITE, action, job_resource(ref))
        job = await self.store.get_job(ref)
        now = self.clock()
        next_fire = (
            self._first_fire(job.definition.model_copy(update={"enabled": True}), job, now)
            if enabled
            else None
        )
        record = await self.store.set_enabled(
            job.id,
            enabled,
            next_fire_at=next_fire,
            now=now,
            audit=self.gate.entry(principal, action, job_resource(job.name)),
        )
        self._job_changed(principal, record, ChangeKind.ENABLED if enabled else ChangeKind.DISABLED)
        return JobSummary.of(record)

    async def delete(self, principal: Principal, ref: str) -> JobSummary:
        """Delete the job; its execution history stays. Returns the job as it was."""
        await self.gate.check(principal, Permission.JOB_DELETE, "job.delete", job_resource(ref))
        job = await self.store.get_job(ref)
        await self.store.delete_job(
            job.id, audit=self.gate.entry(principal, "job.delete", job_resource(job.name))
        )
        self._job_changed(principal, job, ChangeKind.DELETED)
        return JobSummary.of(job)

    def _job_changed(self, principal: Principal, job: JobRecord, change: ChangeKind) -> None:
        self.events.emit(
            JobChanged(
                at=self.clock(),
                job_id=job.id,
                job_name=job.name,
                change=change,
                actor=principal.subject,
            )
        )
        self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

"""Jobs: apply documents, list, show, enable, disable, delete, run now."""

from __future__ import annotations

import asyncio
import difflib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from vecron.clock import utcnow
from vecron.errors import ValidationError
from vecron.ids import new_id
from vecron.jobs.documents import DEFAULT_LIMITS, json_schema, parse_definition, parse_text
from vecron.jobs.limits import DocumentLimits
from vecron.models import overlap
from vecron.models.definition import JobDefinition
from vecron.models.execution import Execution, NewExecution, Occurrence
from vecron.models.job import JobRecord
from vecron.plugin.registry import Registry
from vecron.scheduling.jobschedule import JobSchedule
from vecron.storage import ObjectStorage
from vecron.store.base import SaveResult, Store

DOCUMENT_SUFFIXES = (".json", ".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class ApplyChange:
    """One document of ``job apply``: what changed, with a unified diff for updates."""

    name: str
    source: str
    change: str  # created | updated | unchanged
    version: int
    diff: str = ""


@dataclass(slots=True)
class LoadedDocuments:
    definitions: list[tuple[str, JobDefinition]] = field(default_factory=list)


class JobService:
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
    ) -> None:
        self.limits = limits
        self.storage = storage
        self.store = store
        self.registry = registry
        self.default_timezone = default_timezone
        self.on_change = on_change
        self.clock = clock

    # -- reading documents ----------------------------------------------------------
    def parse(self, data: Any) -> JobDefinition:
        return parse_definition(
            data, self.registry, default_timezone=self.default_timezone, limits=self.limits
        )

    def load_path(self, path: Path) -> list[tuple[str, JobDefinition]]:
        """Every job document in a file or folder, all validated before anything is saved.

        :raises ValidationError: the first bad document, naming file and field.
        """
        if path.is_dir():
            files = sorted(
                p for p in path.rglob("*") if p.suffix in DOCUMENT_SUFFIXES and p.is_file()
            )
            if not files:
                raise ValidationError(f"{path}: no .json, .yaml or .yml job documents found")
        elif path.is_file():
            files = [path]
        else:
            raise ValidationError(f"{path}: no such file or folder")
        out: list[tuple[str, JobDefinition]] = []
        names: dict[str, str] = {}
        for file in files:
            try:
                text = file.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                raise ValidationError(f"{file}: not UTF-8 text") from None
            data = parse_text(text, source=str(file), limits=self.limits)
            for index, doc in enumerate(data if isinstance(data, list) else [data]):
                where = str(file) if not isinstance(data, list) else f"{file}[{index}]"
                try:
                    definition = self.parse(doc)
                except ValidationError as exc:
                    raise ValidationError(f"{where}: {exc.one_line()}") from None
                if definition.name in names:
                    other = names[definition.name]
                    raise ValidationError(f"{where}: job {definition.name!r} is also in {other}")
                names[definition.name] = where
                out.append((where, definition))
        return out

    # -- writing --------------------------------------------------------------------
    def first_fire(
        self, definition: JobDefinition, job: JobRecord | None, now: datetime
    ) -> datetime | None:
        if not definition.enabled:
            return None
        schedule = JobSchedule(definition, self.registry)
        # A job saved now may fire at `now` itself, so ask for fires after a hair earlier.
        return schedule.next_after(
            now - timedelta(microseconds=1), job, finished_at=None, created_at=now
        )

    async def save(self, definition: JobDefinition) -> SaveResult:
        [result] = await self.save_many([definition])
        return result

    async def save_many(self, definitions: Sequence[JobDefinition]) -> list[SaveResult]:
        """Save several jobs in one transaction: all of them or none."""
        now = self.clock()
        current = await self.store.jobs_by_name([d.name for d in definitions])
        results = await self.store.save_jobs(
            [(d, self.first_fire(d, current.get(d.name), now)) for d in definitions], now=now
        )
        await self._store_documents([r for r in results if r.change != "unchanged"])
        if any(r.change != "unchanged" for r in results):
            self._changed()
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

    async def apply(self, path: Path, *, dry_run: bool = False) -> list[ApplyChange]:
        """Create or update every job in ``path``: all documents are validated first and
        saved in one transaction, so one bad document saves nothing."""
        loaded = self.load_path(path)
        current = await self.store.jobs_by_name([d.name for _, d in loaded])
        if dry_run:
            versions = []
            for _, definition in loaded:
                job = current.get(definition.name)
                change = (
                    "created"
                    if job is None
                    else ("unchanged" if job.definition == definition else "updated")
                )
                versions.append((change, (job.version if job else 0) + (change != "unchanged")))
        else:
            saved = await self.save_many([d for _, d in loaded])
            versions = [(r.change, r.job.version) for r in saved]
        return [
            ApplyChange(
                definition.name,
                source,
                change,
                version,
                _diff(
                    current[definition.name].definition if definition.name in current else None,
                    definition,
                ),
            )
            for (source, definition), (change, version) in zip(loaded, versions, strict=True)
        ]

    async def get(self, ref: str) -> JobRecord:
        return await self.store.get_job(ref)

    async def list_jobs(self) -> list[JobRecord]:
        return await self.store.list_jobs()

    async def set_enabled(self, ref: str, enabled: bool) -> JobRecord:
        job = await self.store.get_job(ref)
        now = self.clock()
        next_fire = (
            self.first_fire(job.definition.model_copy(update={"enabled": True}), job, now)
            if enabled
            else None
        )
        record = await self.store.set_enabled(job.id, enabled, next_fire_at=next_fire, now=now)
        self._changed()
        return record

    async def delete(self, ref: str) -> JobRecord:
        job = await self.store.get_job(ref)
        await self.store.delete_job(job.id)
        self._changed()
        return job

    async def run_now(
        self,
        ref: str,
        *,
        params: dict[str, Any] | None = None,
        triggered_by: str | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[Execution, bool]:
        """A manual run. The same ``idempotency_key`` twice gives the same execution.

        :raises ConflictError: the job does not allow overlap and has an execution queued
            or running — checked in the same transaction as the insert, so of two runs
            at the same instant one is refused.
        """
        job = await self.store.get_job(ref)
        now = self.clock()
        key = f"{job.id}:manual:{idempotency_key or new_id()}"
        execution, created = await self.store.create_execution(
            NewExecution(
                id=new_id(),
                job_id=job.id,
                job_name=job.name,
                job_version=job.version,
                idempotency_key=key,
                trigger="manual",
                triggered_by=triggered_by,
                scheduled_at=None,
                not_before=now,
                max_attempts=job.definition.retry.max_attempts,
                created_at=now,
                params=params or {},
            ),
            exclusive=overlap.exclusive(job.definition),
        )
        self._changed()
        return execution, created

    async def ledger(self, ref: str, *, limit: int = 100) -> tuple[JobRecord, list[Occurrence]]:
        """What became of the job's planned fires: fired, skipped, missed, coalesced."""
        job = await self.store.get_job(ref)
        return job, await self.store.occurrences(job.id, limit)

    def schema(self) -> dict[str, Any]:
        return json_schema(self.registry)

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()


def _diff(old: JobDefinition | None, new: JobDefinition) -> str:
    def lines(d: JobDefinition | None) -> list[str]:
        return (
            []
            if d is None
            else json.dumps(d.document(), indent=2, sort_keys=True, default=str).splitlines()
        )

    return "\n".join(difflib.unified_diff(lines(old), lines(new), "current", "new", lineterm=""))

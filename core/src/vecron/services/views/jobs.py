"""Views of jobs: a summary for lists, the masked definition for one job, saves and the ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from vecron.errors import Problem
from vecron.jobs.masking import masked_document
from vecron.models.execution import ExecutionStatus, Occurrence, OccurrenceStatus
from vecron.models.job import JobRecord
from vecron.plugin.registry import Registry
from vecron.store.base import JobStats, JobVersion

Change = Literal["created", "updated", "unchanged"]


class JobSummary(BaseModel):
    """A job and its scheduling state, without its definition (job lists)."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    enabled: bool
    version: int
    timezone: str
    triggers: list[str]
    """The trigger types, in document order."""
    steps: list[str]
    """The step ids, in order."""
    next_fire_at: datetime | None
    last_finished_at: datetime | None
    created_at: datetime
    updated_at: datetime
    last_status: ExecutionStatus | None = None
    """The status of its latest finished execution; None when none finished (or when
    the view comes from a change, which does not look)."""
    success_rate: float | None = None
    """Of its executions that finished in the last 7 days and ran to an end
    (succeeded, failed, timed out), the fraction that succeeded (0 to 1); None when
    there were none."""

    @classmethod
    def of(cls, job: JobRecord, stats: JobStats | None = None) -> JobSummary:
        d = job.definition
        return cls(
            id=job.id,
            name=job.name,
            enabled=job.enabled,
            version=job.version,
            timezone=d.timezone,
            triggers=[t.type for t in d.triggers],
            steps=[s.id for s in d.steps],
            next_fire_at=job.next_fire_at,
            last_finished_at=job.last_finished_at,
            created_at=job.created_at,
            updated_at=job.updated_at,
            last_status=None if stats is None else stats.last_status,
            success_rate=None if stats is None else stats.success_rate,
        )


class JobView(JobSummary):
    """One job with its definition as a document; secret config fields are the mask."""

    definition: dict[str, Any]

    @classmethod
    def masked(cls, job: JobRecord, registry: Registry, stats: JobStats | None = None) -> JobView:
        summary = JobSummary.of(job, stats).model_dump()
        return cls(**summary, definition=masked_document(job.definition, registry))


class SavedJob(BaseModel):
    """One job saved: what changed and the job as it is now."""

    model_config = ConfigDict(frozen=True)

    change: Change
    job: JobSummary


class AppliedDocument(BaseModel):
    """One document of ``job apply``: what changed, with a unified diff for updates."""

    model_config = ConfigDict(frozen=True)

    name: str
    source: str
    change: Change
    version: int
    diff: str = ""


class LedgerEntry(BaseModel):
    """What became of one planned fire: fired, skipped, missed or coalesced, and why."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    fire_time: datetime
    status: OccurrenceStatus
    reason: str | None
    execution_id: str | None
    recorded_at: datetime

    @classmethod
    def of(cls, occurrence: Occurrence) -> LedgerEntry:
        return cls.model_validate(occurrence, from_attributes=True)


class JobVersionSummary(BaseModel):
    """One saved version of a job: when it was saved and what it ran."""

    model_config = ConfigDict(frozen=True)

    version: int
    saved_at: datetime
    current: bool
    """The version the job runs now."""
    enabled: bool
    """As that version's document said."""
    triggers: list[str]
    """The trigger types, in document order."""
    steps: list[str]
    """The step ids, in order."""

    @classmethod
    def of(cls, saved: JobVersion, current: int) -> JobVersionSummary:
        d = saved.definition
        return cls(
            version=saved.version,
            saved_at=saved.saved_at,
            current=saved.version == current,
            enabled=d.enabled,
            triggers=[t.type for t in d.triggers],
            steps=[s.id for s in d.steps],
        )


class DocumentProblem(BaseModel):
    """One thing wrong with one job document: where, what kind, and in words."""

    model_config = ConfigDict(frozen=True)

    source: str | None
    """Which document (``documents[2]``, a file name)."""
    field: str | None
    """Where in it: ``steps[0].url``; None for the document as a whole."""
    code: str
    """Stable: ``unknown-field``, ``missing``, ``duplicate-name`` …"""
    message: str
    params: dict[str, Any] = Field(default_factory=dict)
    """The facts the message was made of (a limit, the installed kinds)."""

    @classmethod
    def of(cls, problem: Problem) -> DocumentProblem:
        body = problem.as_dict()
        return cls(
            source=problem.source,
            field=problem.field,
            code=problem.code,
            message=problem.message,
            params=body.get("params", {}),
        )


class CheckedDocument(BaseModel):
    """One document of a validation: its job's name (when it has a readable one)."""

    model_config = ConfigDict(frozen=True)

    source: str
    name: str | None
    valid: bool


class ValidationReport(BaseModel):
    """A dry run over job documents: every problem of every document; nothing saved."""

    model_config = ConfigDict(frozen=True)

    valid: bool
    """No document has a problem."""
    documents: list[CheckedDocument]
    problems: list[DocumentProblem]

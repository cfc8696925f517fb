"""Views of portable job files (S7.3): the export document itself and what an import did."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from vecron.services.views.jobs import DocumentProblem

#: What an import does with a job whose name is taken: refuse it, save it under the
#: first free ``NAME-2``, ``NAME-3``…, or replace the job (a new version).
ConflictPolicy = Literal["fail", "rename", "overwrite"]
ImportChange = Literal["created", "updated", "unchanged", "failed"]


class SecretPlaceholder(BaseModel):
    """Stands in for a secret value: ``{"$secret": "nightly/vars.TOKEN"}``."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", validate_by_alias=True, serialize_by_alias=True
    )

    name: str = Field(
        alias="$secret",
        min_length=1,
        description="What to supply at import: the job's exported name, '/', where.",
    )


class ExportedVariable(BaseModel):
    """A variable of the job: a plain value as it is, a secret one as a placeholder."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    secret: bool = False
    value: str | SecretPlaceholder


class ExportedJob(BaseModel):
    """One job: its document (secret config fields are placeholders) and its variables."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    definition: dict[str, Any] = Field(description="The job document, as `vecron job apply` reads.")
    variables: list[ExportedVariable] = Field(
        default_factory=list, description="The job's own variables (not the global ones)."
    )


class ExportDocument(BaseModel):
    """A portable job file: job definitions with their metadata, nothing secret in it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format_version: int = Field(ge=1, description="Of this document's shape.")
    exported_at: datetime
    exported_by: str = Field(description="Who exported it (the principal's subject).")
    vecron_version: str | None = Field(description="Of the installation that exported it.")
    secrets: list[str] = Field(
        default_factory=list,
        description="Every placeholder's name, in document order: what an import needs.",
    )
    jobs: list[ExportedJob] = Field(min_length=1)


class ImportedJob(BaseModel):
    """What became of one job of an import."""

    model_config = ConfigDict(frozen=True)

    source: str
    """Where it is in the export: ``jobs[2]``."""
    name: str | None
    """Its name in the export (None when the document has no readable name)."""
    saved_as: str | None
    """The name it was saved under (another one after a rename); None when not saved."""
    change: ImportChange
    version: int | None
    problems: list[DocumentProblem] = Field(default_factory=list)
    """Why it failed (best effort only: otherwise one failure fails the import)."""


class ImportReport(BaseModel):
    """An import: each job's result. Without best effort every job was saved."""

    model_config = ConfigDict(frozen=True)

    saved: int
    failed: int
    jobs: list[ImportedJob]
    missing_secrets: list[str]
    """Placeholders that had no value (their jobs failed)."""

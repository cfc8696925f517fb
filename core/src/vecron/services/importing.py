"""What an import checks of an export: its format, each job with its placeholders filled,
names given twice; and the report of what became of each job."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pydantic

from vecron.errors import Problem, ValidationError, problems_from_pydantic
from vecron.jobs.documents import field_inside
from vecron.jobs.portable import FORMAT_VERSION, filled, placeholders_in
from vecron.models.definition import JobDefinition
from vecron.services.jobfiles import duplicate_name
from vecron.services.variables import check_name, check_value
from vecron.services.views import DocumentProblem
from vecron.services.views.transfer import (
    ExportDocument,
    ExportedJob,
    ImportChange,
    ImportedJob,
    ImportReport,
    SecretPlaceholder,
)


@dataclass(slots=True)
class Candidate:
    """One job of an import as it is checked: problems, or what to save."""

    source: str
    name: str | None
    definition: JobDefinition | None = None
    variables: list[tuple[str, str, bool]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    saved: tuple[ImportChange, int] | None = None
    """What the save did, and the job's version after it."""


def check_job(
    source: str,
    job: ExportedJob,
    secrets: Mapping[str, str],
    parse: Callable[[Any], JobDefinition],
) -> Candidate:
    """One job of an export with its placeholders filled, checked: what to save, or its
    problems (a placeholder without a value hides the rest: the job cannot be read)."""
    name = job.definition.get("name")
    exported_name = name if isinstance(name, str) else None
    found = Candidate(source=source, name=exported_name)
    data = filled(job.definition, secrets)
    found.missing = placeholders_in(data)
    values: list[tuple[str, str, bool]] = []
    for index, variable in enumerate(job.variables):
        where = f"variables[{index}]"
        value = variable.value
        if isinstance(value, SecretPlaceholder):
            if value.name not in secrets:
                found.missing.append(value.name)
                continue
            value = secrets[value.name]
        try:
            check_name(variable.name)
            check_value(value, secret=variable.secret)
        except ValidationError as exc:
            found.problems += [located(p, where, source) for p in exc.problems]
            continue
        values.append((variable.name, value, variable.secret))
    if found.missing:
        found.problems.insert(
            0,
            Problem(
                message="no value for the secret placeholder"
                f"{'s' if len(found.missing) > 1 else ''} {', '.join(found.missing)}",
                field="secrets",
                code="secret-missing",
                params={"missing": found.missing},
                source=source,
            ),
        )
        return found  # the definition holds placeholders: checking it says nothing new
    try:
        found.definition = parse(data)
    except ValidationError as exc:
        found.problems += [located(p, "definition", source) for p in exc.problems]
    found.variables = values
    return found


def export_of(document: Any) -> ExportDocument:
    """:raises ValidationError: not an export, or of a format newer than this vecron's."""
    if not isinstance(document, Mapping) or "jobs" not in document:
        raise ValidationError(
            "not a vecron export: expected an object with format_version and jobs",
            reason="not-an-export",
        )
    version = document.get("format_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise ValidationError(
            f"the export is of format version {version}; this vecron reads up to "
            f"{FORMAT_VERSION} (upgrade vecron to import it)",
            field="format_version",
            reason="format-version-newer",
            params={"version": version, "supported": FORMAT_VERSION},
        )
    try:
        return ExportDocument.model_validate(document)
    except pydantic.ValidationError as exc:
        raise ValidationError.of(
            problems_from_pydantic(exc.errors(include_url=False), data=document), what="export"
        ) from None


def located(problem: Problem, where: str, source: str) -> Problem:
    """``problem`` of the part ``where`` of the job ``source``."""
    return replace(problem, field=field_inside(where, problem.field), source=source)


def name_taken(name: str, source: str) -> Problem:
    return Problem(
        message=f"job {name!r} exists already",
        field="definition.name",
        code="job-exists",
        params={"name": name},
        source=source,
    )


def check_duplicates(checked: list[Candidate]) -> None:
    seen: dict[str, str] = {}
    for job in checked:
        if job.definition is None:
            continue
        other = seen.setdefault(job.definition.name, job.source)
        if other != job.source:
            job.problems.append(
                duplicate_name(job.definition.name, other, job.source, "definition.name")
            )


def report(checked: list[Candidate]) -> ImportReport:
    jobs = []
    for job in checked:
        saved = job.saved
        jobs.append(
            ImportedJob(
                source=job.source,
                name=job.name,
                saved_as=job.definition.name if saved and job.definition else None,
                change=saved[0] if saved else "failed",
                version=saved[1] if saved else None,
                problems=[DocumentProblem.of(p) for p in job.problems],
            )
        )
    return ImportReport(
        saved=sum(j.change != "failed" for j in jobs),
        failed=sum(j.change == "failed" for j in jobs),
        jobs=jobs,
        missing_secrets=[name for job in checked for name in job.missing],
    )

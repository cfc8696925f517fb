"""Portable job files: export jobs to one document, import one (a job or many)."""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from vecron import ConflictPolicy, ExportDocument, ImportReport, Permission, ValidationError
from vecron_api.requests import body, principal, raw_document, reply, runtime, validated
from vecron_api.routing import Route

#: A job's name (the same rule as a job document's).
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"


class ExportRequest(BaseModel):
    """Which jobs to export: by name, or all of them."""

    model_config = ConfigDict(extra="forbid")

    names: list[Annotated[str, Field(pattern=NAME_PATTERN)]] = Field(
        default_factory=list, max_length=10_000, description="Job names."
    )
    all: bool = Field(False, description="Every job (then give no names).")
    variables: bool = Field(
        True, description="Include the jobs' own variables (needs variable:read too)."
    )


class ImportRequest(BaseModel):
    """An export to import, with the values of its placeholders."""

    model_config = ConfigDict(extra="forbid")

    document: ExportDocument = Field(description="What `jobs:export` answered (one job or many).")
    secrets: dict[str, str] = Field(
        default_factory=dict,
        description='Values of the export\'s placeholders, by name: {"job/vars.TOKEN": "…"}.',
    )
    on_conflict: ConflictPolicy = Field(
        "fail", description="A job of that name exists: fail, rename (NAME-2…) or overwrite."
    )
    best_effort: bool = Field(
        False, description="Save every valid job and report the others (default: all or none)."
    )


class _ImportOptions(BaseModel):
    """The request without its document, which the service reads (format version first)."""

    model_config = ConfigDict(extra="forbid")

    secrets: dict[str, str] = Field(default_factory=dict)
    on_conflict: ConflictPolicy = "fail"
    best_effort: bool = False


async def export_jobs(request: web.Request) -> web.Response:
    asked = await body(request, ExportRequest) if request.body_exists else ExportRequest()
    document = await runtime(request).jobs.export(
        principal(request), asked.names, all_jobs=asked.all, variables=asked.variables
    )
    return reply(document)


async def import_jobs(request: web.Request) -> web.Response:
    data = await raw_document(request)
    if not isinstance(data, dict) or "document" not in data:
        raise ValidationError(
            "send an object with the export as document (and secrets, on_conflict, best_effort)",
            field="document",
            reason="missing",
        )
    document: Any = data.pop("document")
    options = validated(_ImportOptions, data, what="request body")
    report = await runtime(request).jobs.import_(
        principal(request),
        document,
        on_conflict=options.on_conflict,
        secrets=options.secrets,
        best_effort=options.best_effort,
    )
    return reply(report)


ROUTES: list[Route] = [
    Route(
        method="POST",
        path="/jobs:export",
        handler=export_jobs,
        operation_id="exportJobs",
        summary="Jobs as one portable document; every secret value a named placeholder",
        tag="jobs",
        permission=Permission.JOB_READ,
        body=ExportRequest,
        body_required=False,
        response=ExportDocument,
        errors=(404,),
    ),
    Route(
        method="POST",
        path="/jobs:import",
        handler=import_jobs,
        operation_id="importJobs",
        summary="Create jobs from an export: all checked first, all saved or none",
        tag="jobs",
        permission=Permission.JOB_WRITE,
        body=ImportRequest,
        response=ImportReport,
        errors=(409,),
    ),
]

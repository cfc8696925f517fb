"""Jobs: list, create, read, replace, delete, enable, disable, trigger, versions, ledger,
validate and apply."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from vecron import (
    AppliedDocument,
    JobSummary,
    JobVersionSummary,
    JobView,
    LedgerEntry,
    Page,
    Permission,
    SavedJob,
    ValidationError,
    ValidationReport,
)
from vecron_api.requests import (
    YAML_TYPES,
    MalformedBody,
    UnsupportedMediaType,
    body,
    body_text,
    principal,
    query,
    reply,
    runtime,
)
from vecron_api.routing import Route

P = Permission
DOCUMENT_TYPES = ("application/json", *YAML_TYPES)


class JobDocument(BaseModel):
    """A job document (the same as a job file); its full JSON Schema is `vecron job
    schema`'s and depends on the installed plugins."""

    model_config = ConfigDict(extra="allow", title="JobDocument")

    name: str = Field(description="Unique job name.", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class Documents(BaseModel):
    """Several job documents, checked (or saved) together."""

    model_config = ConfigDict(extra="forbid")

    documents: list[JobDocument] = Field(min_length=1, max_length=1000)


class ListJobs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = Field(None, description="Only enabled (true) or disabled (false) jobs.")
    search: str | None = Field(None, description="Part of the name, any case.", max_length=200)
    cursor: str | None = Field(
        None, min_length=1, description="From the previous page's next_cursor."
    )
    limit: int = Field(50, ge=1, le=500, description="Jobs per page.")


class LedgerQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(100, ge=1, le=1000, description="Entries, newest first.")


class TriggerBody(BaseModel):
    """What a manual run gets: parameters for its templates (``params``)."""

    model_config = ConfigDict(extra="forbid")

    params: dict[str, Any] = Field(default_factory=dict, description="Run parameters.")


class TriggerAccepted(BaseModel):
    """A manual run was queued (or, for a repeated Idempotency-Key, found)."""

    execution_id: str
    created: bool = Field(description="False when the Idempotency-Key named an earlier run.")


async def _documents(request: web.Request) -> list[Any]:
    """The body's job documents, parsed under core's document limits."""
    if request.content_type not in DOCUMENT_TYPES:
        raise UnsupportedMediaType(
            f"send job documents as {' or '.join(DOCUMENT_TYPES)}, not "
            f"{request.content_type or 'nothing'}",
            field="Content-Type",
        )
    text = await body_text(request)
    try:
        return runtime(request).jobs.parse_text(text, source="request body")
    except ValidationError as exc:
        # Not well-formed is 400 on every route; a document that breaks a limit stays 422.
        if [p.code for p in exc.problems] == ["syntax"]:
            raise MalformedBody(exc.message, field="body") from None
        raise


async def _one_document(request: web.Request) -> Any:
    found = await _documents(request)
    if len(found) != 1:
        raise ValidationError(f"send one job document, not {len(found)}", field="body")
    return found[0]


async def list_jobs(request: web.Request) -> web.Response:
    q = query(request, ListJobs)
    page = await runtime(request).jobs.list_jobs(
        principal(request), enabled=q.enabled, search=q.search, cursor=q.cursor, limit=q.limit
    )
    return reply(page)


async def create_job(request: web.Request) -> web.Response:
    rt = runtime(request)
    definition = rt.jobs.parse(await _one_document(request))
    saved = await rt.jobs.create(principal(request), definition)
    return reply(saved, status=201, headers={"Location": f"/api/v1/jobs/{saved.job.name}"})


async def get_job(request: web.Request) -> web.Response:
    return reply(await runtime(request).jobs.get(principal(request), request.match_info["name"]))


async def replace_job(request: web.Request) -> web.Response:
    rt = runtime(request)
    name = request.match_info["name"]
    definition = rt.jobs.parse(await _one_document(request))
    if definition.name != name:
        raise ValidationError(
            f"the document names job {definition.name!r}, the path {name!r}", field="name"
        )
    saved = await rt.jobs.save(principal(request), definition)
    return reply(saved, status=201 if saved.change == "created" else 200)


async def delete_job(request: web.Request) -> web.Response:
    return reply(await runtime(request).jobs.delete(principal(request), request.match_info["name"]))


async def enable_job(request: web.Request) -> web.Response:
    rt = runtime(request)
    return reply(await rt.jobs.set_enabled(principal(request), request.match_info["name"], True))


async def disable_job(request: web.Request) -> web.Response:
    rt = runtime(request)
    return reply(await rt.jobs.set_enabled(principal(request), request.match_info["name"], False))


async def trigger_job(request: web.Request) -> web.Response:
    given = await body(request, TriggerBody) if request.body_exists else TriggerBody()
    key = request.headers.get("Idempotency-Key")  # the service checks it
    fired = await runtime(request).triggers.fire(
        principal(request),
        request.match_info["name"],
        kind="manual",
        params=given.params,
        by="api",
        idempotency_key=key,
    )
    return reply(
        TriggerAccepted(execution_id=fired.execution.id, created=fired.created), status=202
    )


async def job_versions(request: web.Request) -> web.Response:
    rt = runtime(request)
    return reply(await rt.jobs.versions(principal(request), request.match_info["name"]))


async def job_version(request: web.Request) -> web.Response:
    raw = request.match_info["version"]
    if not raw.isdigit() or int(raw) < 1:
        raise ValidationError("a version is a whole number from 1", field="version")
    rt = runtime(request)
    return reply(await rt.jobs.version(principal(request), request.match_info["name"], int(raw)))


async def job_ledger(request: web.Request) -> web.Response:
    q = query(request, LedgerQuery)
    rt = runtime(request)
    return reply(
        await rt.jobs.ledger(principal(request), request.match_info["name"], limit=q.limit)
    )


async def validate_jobs(request: web.Request) -> web.Response:
    found = await _documents(request)
    documents = [(f"documents[{i}]", data) for i, data in enumerate(found)]
    return reply(await runtime(request).jobs.validate(principal(request), documents))


async def apply_jobs(request: web.Request) -> web.Response:
    found = await _documents(request)
    documents = [(f"documents[{i}]", data) for i, data in enumerate(found)]
    return reply(await runtime(request).jobs.apply_documents(principal(request), documents))


def _job_path(suffix: str = "") -> str:
    return "/jobs/{name}" + suffix


JOB_404 = (404,)
ROUTES: list[Route] = [
    Route(
        method="GET",
        path="/jobs",
        handler=list_jobs,
        operation_id="listJobs",
        summary="Jobs by name, with last run, success rate and next fire; a page at a time",
        tag="jobs",
        permission=P.JOB_READ,
        query=ListJobs,
        response=Page[JobSummary],
    ),
    Route(
        method="POST",
        path="/jobs",
        handler=create_job,
        operation_id="createJob",
        summary="Create a job from a job document (JSON or YAML)",
        tag="jobs",
        permission=P.JOB_WRITE,
        body=JobDocument,
        body_types=DOCUMENT_TYPES,
        response=SavedJob,
        status=201,
        errors=(409,),
    ),
    Route(
        method="GET",
        path=_job_path(),
        handler=get_job,
        operation_id="getJob",
        summary="A job with its definition (secret fields masked)",
        tag="jobs",
        permission=P.JOB_READ,
        response=JobView,
    ),
    Route(
        method="PUT",
        path=_job_path(),
        handler=replace_job,
        operation_id="replaceJob",
        summary="Create or replace a job (a new version when the definition differs)",
        tag="jobs",
        permission=P.JOB_WRITE,
        body=JobDocument,
        body_types=DOCUMENT_TYPES,
        response=SavedJob,
        also=(201,),
    ),
    Route(
        method="DELETE",
        path=_job_path(),
        handler=delete_job,
        operation_id="deleteJob",
        summary="Delete a job (its execution history stays); answers the job as it was",
        tag="jobs",
        permission=P.JOB_DELETE,
        response=JobSummary,
    ),
    Route(
        method="POST",
        path=_job_path("/enable"),
        handler=enable_job,
        operation_id="enableJob",
        summary="Schedule the job again from now",
        tag="jobs",
        permission=P.JOB_WRITE,
        response=JobSummary,
    ),
    Route(
        method="POST",
        path=_job_path("/disable"),
        handler=disable_job,
        operation_id="disableJob",
        summary="Stop scheduling the job (runs not started yet are cancelled)",
        tag="jobs",
        permission=P.JOB_WRITE,
        response=JobSummary,
    ),
    Route(
        method="POST",
        path=_job_path("/trigger"),
        handler=trigger_job,
        operation_id="triggerJob",
        summary="Run the job now; an Idempotency-Key makes it exactly once",
        description="A manual run, judged by the job's trigger policy like every other: "
        "403 (`trigger-forbidden`) when the job is disabled or does not allow manual runs "
        "(`policy.allow_manual: false`), 409 (`job-running`) when it does not allow "
        "overlap and an execution holds it.",
        tag="jobs",
        permission=P.JOB_EXECUTE,
        body=TriggerBody,
        body_required=False,
        response=TriggerAccepted,
        status=202,
        errors=(409,),
        headers=(
            (
                "Idempotency-Key",
                "The same key gives the same execution (exactly once); the same key with a "
                "different body answers 422.",
            ),
        ),
    ),
    Route(
        method="GET",
        path=_job_path("/versions"),
        handler=job_versions,
        operation_id="listJobVersions",
        summary="Every saved version of the job",
        tag="jobs",
        permission=P.JOB_READ,
        response=list[JobVersionSummary],
    ),
    Route(
        method="GET",
        path=_job_path("/versions/{version}"),
        handler=job_version,
        operation_id="getJobVersion",
        path_schemas={"version": {"pattern": "^[1-9][0-9]{0,8}$"}},
        summary="One version of the job's definition (secret fields masked)",
        tag="jobs",
        permission=P.JOB_READ,
        response=JobView,
    ),
    Route(
        method="GET",
        path=_job_path("/ledger"),
        handler=job_ledger,
        operation_id="getJobLedger",
        summary="What became of each planned fire: fired, skipped, missed, coalesced",
        tag="jobs",
        permission=P.JOB_READ,
        query=LedgerQuery,
        response=list[LedgerEntry],
    ),
    Route(
        method="POST",
        path="/jobs:validate",
        handler=validate_jobs,
        operation_id="validateJobs",
        summary="Check job documents: every problem, nothing saved",
        tag="jobs",
        permission=P.JOB_WRITE,
        body=Documents,
        body_types=DOCUMENT_TYPES,
        response=ValidationReport,
    ),
    Route(
        method="POST",
        path="/jobs:apply",
        handler=apply_jobs,
        operation_id="applyJobs",
        summary="Create or update many jobs at once: all or none, with diffs",
        tag="jobs",
        permission=P.JOB_WRITE,
        body=Documents,
        body_types=DOCUMENT_TYPES,
        response=list[AppliedDocument],
    ),
]

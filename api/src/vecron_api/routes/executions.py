"""Executions: list, read (steps, context), download a file, cancel, re-run; dead letters."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from vecron import ExecutionSummary, ExecutionView, Page, Permission
from vecron_api.requests import DateTime, principal, query, reply, runtime
from vecron_api.routing import Route

P = Permission


class ListExecutions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    job: str | None = Field(None, description="Only this job's (name or id).", max_length=200)
    status: (
        Literal["queued", "running", "succeeded", "failed", "timed_out", "cancelled", "skipped"]
        | None
    ) = Field(None, description="Only executions in this status.")
    trigger: str | None = Field(
        None,
        description="Only those made by this trigger kind: cron, fixed_rate, fixed_delay, "
        "manual (run now, the API), webhook …",
        max_length=50,
    )
    since: DateTime | None = Field(None, description="Created at or after (ISO 8601).")
    until: DateTime | None = Field(None, description="Created before (ISO 8601).")
    cursor: str | None = Field(
        None, min_length=1, description="From the previous page's next_cursor."
    )
    limit: int = Field(50, ge=1, le=500, description="Executions per page, newest first.")


class DeadLetters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    job: str | None = Field(None, description="Only this job's (name or id).", max_length=200)
    cursor: str | None = Field(
        None, min_length=1, description="From the previous page's next_cursor."
    )
    limit: int = Field(50, ge=1, le=500, description="Executions per page, newest first.")


class GetExecution(BaseModel):
    model_config = ConfigDict(extra="forbid")

    context: bool = Field(True, description="Include the whole Job Context document.")


def whole_number(value: Any) -> Any:
    """JSON has one number type: ``2.0`` is the integer 2 (JSON Schema says so too);
    ``"2"`` or ``true`` is no number (the field is strict)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: 1 to 100, a whole number in JSON.
Attempts = Annotated[int, Field(strict=True, ge=1, le=100), BeforeValidator(whole_number)]


class Rerun(BaseModel):
    model_config = ConfigDict(extra="forbid")

    extra_attempts: Attempts | None = Field(
        None,
        description="Attempts it gets (default: the job's max_attempts).",
    )


async def list_executions(request: web.Request) -> web.Response:
    q = query(request, ListExecutions)
    page = await runtime(request).executions.list_executions(
        principal(request),
        job=q.job,
        status=q.status,
        trigger=q.trigger,
        since=q.since,
        until=q.until,
        cursor=q.cursor,
        limit=q.limit,
    )
    return reply(page)


async def get_execution(request: web.Request) -> web.Response:
    q = query(request, GetExecution)
    rt = runtime(request)
    return reply(
        await rt.executions.get(principal(request), request.match_info["id"], context=q.context)
    )


async def execution_file(request: web.Request) -> web.StreamResponse:
    rt = runtime(request)
    found = await rt.files.open(
        principal(request), request.match_info["id"], request.match_info["name"]
    )
    response = web.StreamResponse(
        headers={
            "Content-Type": found.content_type or "application/octet-stream",
            "Content-Disposition": f"attachment; filename*=UTF-8''{found.quoted_name}",
        }
    )
    response.content_length = found.size
    await response.prepare(request)
    async for chunk in found.chunks:
        await response.write(chunk)
    await response.write_eof()
    return response


async def cancel_execution(request: web.Request) -> web.Response:
    rt = runtime(request)
    return reply(await rt.executions.cancel(principal(request), request.match_info["id"]))


async def rerun_execution(request: web.Request) -> web.Response:
    from vecron_api.requests import body

    given = await body(request, Rerun) if request.body_exists else Rerun()
    rt = runtime(request)
    again = await rt.executions.rerun(
        principal(request), request.match_info["id"], extra_attempts=given.extra_attempts
    )
    return reply(again, status=202)


async def dead_letters(request: web.Request) -> web.Response:
    q = query(request, DeadLetters)
    page = await runtime(request).executions.dead_letters(
        principal(request), job=q.job, cursor=q.cursor, limit=q.limit
    )
    return reply(page)


ROUTES: list[Route] = [
    Route(
        method="GET",
        path="/executions",
        handler=list_executions,
        operation_id="listExecutions",
        summary="Executions, newest first, by job, status, trigger and time; a page at a time",
        tag="executions",
        permission=P.EXECUTION_READ,
        query=ListExecutions,
        response=Page[ExecutionSummary],
        errors=(404,),  # the job filter names no job
    ),
    Route(
        method="GET",
        path="/executions/{id}",
        handler=get_execution,
        operation_id="getExecution",
        summary="One execution with its steps and Job Context",
        tag="executions",
        permission=P.EXECUTION_READ,
        query=GetExecution,
        response=ExecutionView,
    ),
    Route(
        method="GET",
        path="/executions/{id}/files/{name:.+}",
        handler=execution_file,
        operation_id="getExecutionFile",
        summary="Download a file an execution produced (streamed)",
        tag="executions",
        permission=P.EXECUTION_READ,
        response_type="application/octet-stream",
    ),
    Route(
        method="POST",
        path="/executions/{id}/cancel",
        handler=cancel_execution,
        operation_id="cancelExecution",
        summary="Cancel a queued or running execution",
        tag="executions",
        permission=P.JOB_EXECUTE,
        response=ExecutionSummary,
        errors=(409,),
    ),
    Route(
        method="POST",
        path="/executions/{id}/rerun",
        handler=rerun_execution,
        operation_id="rerunExecution",
        summary="Re-run a dead-lettered execution from the step that failed",
        tag="executions",
        permission=P.JOB_EXECUTE,
        body=Rerun,
        body_required=False,
        response=ExecutionSummary,
        status=202,
        errors=(409,),
    ),
    Route(
        method="GET",
        path="/dead-letters",
        handler=dead_letters,
        operation_id="listDeadLetters",
        summary="Executions that used every attempt and wait for a re-run",
        tag="executions",
        permission=P.EXECUTION_READ,
        query=DeadLetters,
        response=Page[ExecutionSummary],
        errors=(404,),  # the job filter names no job
    ),
]

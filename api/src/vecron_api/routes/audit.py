"""``GET /audit``: who did what to which resource, when and from where."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from vecron import AuditEntry, Page, Permission
from vecron_api.requests import DateTime, principal, query, reply, runtime
from vecron_api.routing import Route


class ListAudit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    actor: str | None = Field(None, description="Only this actor's entries.", max_length=200)
    resource: str | None = Field(
        None, description="Only this resource (`job:<name>`).", max_length=300
    )
    action: str | None = Field(None, description="Only this action (job.update).", max_length=100)
    since: DateTime | None = Field(None, description="At or after (ISO 8601).")
    cursor: str | None = Field(
        None, min_length=1, description="From the previous page's next_cursor."
    )
    limit: int = Field(100, ge=1, le=500, description="Entries per page, newest first.")


async def list_audit(request: web.Request) -> web.Response:
    q = query(request, ListAudit)
    page = await runtime(request).audit.list(
        principal(request),
        actor=q.actor,
        resource=q.resource,
        action=q.action,
        since=q.since,
        cursor=q.cursor,
        limit=q.limit,
    )
    return reply(page)


ROUTES: list[Route] = [
    Route(
        method="GET",
        path="/audit",
        handler=list_audit,
        operation_id="listAudit",
        summary="The audit log, newest first: changes and refused attempts",
        tag="audit",
        permission=Permission.USER_ADMIN,
        query=ListAudit,
        response=Page[AuditEntry],
    )
]

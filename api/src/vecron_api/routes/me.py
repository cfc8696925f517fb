"""``GET /auth/me``: who the caller is and what they may do."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from vecron_api.requests import principal, reply
from vecron_api.routing import Route


class Me(BaseModel):
    """The authenticated caller."""

    subject: str
    roles: list[str]
    permissions: list[str]
    source: str


async def me(request: web.Request) -> web.Response:
    who = principal(request)
    return reply(
        Me(
            subject=who.subject,
            roles=sorted(who.roles),
            permissions=sorted(p.value for p in who.permissions),
            source=who.source,
        )
    )


ROUTES = [
    Route(
        method="GET",
        path="/auth/me",
        handler=me,
        operation_id="getMe",
        summary="The caller: subject, roles and permissions",
        tag="auth",
        response=Me,
    )
]

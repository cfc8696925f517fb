"""``GET /schedules/explain``: the next fire times of a cron expression (the preview)."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from vecron import ScheduleExplanation
from vecron_api.requests import DateTime, principal, query, reply, runtime
from vecron_api.routing import Route


class Explain(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expression: str = Field(
        description="A cron expression with seconds (6 or 7 fields) or 5 fields.",
        min_length=1,
        max_length=500,
    )
    timezone: str | None = Field(None, description="IANA time zone (default: the default).")
    count: int = Field(10, ge=1, le=1000, description="How many fire times.")
    after: DateTime | None = Field(None, description="Strictly after this (default: now).")


async def explain(request: web.Request) -> web.Response:
    q = query(request, Explain)
    principal(request)  # any signed-in caller: the preview reads nothing stored
    view = runtime(request).schedules.explain(
        {"type": "cron", "expression": q.expression},
        timezone=q.timezone,
        count=q.count,
        after=q.after,
    )
    return reply(view)


ROUTES: list[Route] = [
    Route(
        method="GET",
        path="/schedules/explain",
        handler=explain,
        operation_id="explainSchedule",
        summary="The next fire times of a cron expression in a time zone",
        tag="schedules",
        query=Explain,
        response=ScheduleExplanation,
    )
]

"""Every answer of the API counted in the process's metrics, by route template."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from vecron_api.keys import RUNTIME


def route_template(request: web.Request) -> str | None:
    """The matched route's template (``/api/v1/jobs/{ref}``), never the path itself;
    None when no route matched."""
    resource = request.match_info.route.resource
    return None if resource is None else resource.canonical


@web.middleware
async def metering(request: web.Request, handler: Any) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response: web.StreamResponse = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:  # answered by aiohttp itself (a 404, a 405)
        status = exc.status
        raise
    finally:
        request.app[RUNTIME].metrics.answered(
            request.method, route_template(request), status, time.perf_counter() - started
        )

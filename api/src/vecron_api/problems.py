"""The one error middleware: every failure becomes RFC 9457 problem JSON.

A service's :class:`vecron.VecronError` carries its status and stable code; aiohttp's own
HTTP errors (unknown route 404, wrong method 405, body too large 413) get the same shape,
and anything unexpected a 500 that names nothing of the request. Never an HTML page.
"""

from __future__ import annotations

import math
from typing import Any

from aiohttp import web

from vecron import TooManyRequests, VecronError
from vecron_api.requests import JSON

PROBLEM = "application/problem+json"
_TYPE = "https://vecron.dev/problems/"

_CODES = {
    404: "route-not-found",
    405: "method-not-allowed",
    413: "body-too-large",
    400: "bad-request",
}


def problem_response(
    body: dict[str, Any], *, headers: dict[str, str] | None = None
) -> web.Response:
    import json

    return web.Response(
        status=int(body["status"]),
        text=json.dumps(body, ensure_ascii=False),
        content_type=PROBLEM,
        headers=headers,
    )


def http_problem(exc: web.HTTPException, request: web.Request) -> web.Response:
    code = _CODES.get(exc.status, "http-error")
    detail = exc.reason
    if exc.status == 404:
        detail = f"no route {request.path}"
    elif exc.status == 405:
        allowed = sorted(getattr(exc, "allowed_methods", ()) or ())
        detail = f"{request.method} is not allowed on {request.path}; allowed: {', '.join(allowed)}"
    elif exc.status == 413:
        detail = "the request body is larger than the API accepts (setting api_max_body_bytes)"
    headers = {}
    if exc.status == 405:
        headers["Allow"] = exc.headers.get("Allow", "")
    body = {
        "type": f"{_TYPE}{code}",
        "title": code.replace("-", " "),
        "status": exc.status,
        "detail": detail,
        "code": code,
        "errors": [],
    }
    return problem_response(body, headers=headers or None)


@web.middleware
async def problems(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)  # type: ignore[no-any-return]
    except VecronError as exc:
        body = exc.problem()
        body["instance"] = request.path
        headers = None
        if isinstance(exc, TooManyRequests):
            headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}
        return problem_response(body, headers=headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return http_problem(exc, request)
    except Exception:
        import logging

        # The exception's text may hold request data: log its type and the route only.
        logging.getLogger("vecron.api").exception(
            "unexpected error", extra={"route": request.match_info.route.resource}
        )
        body = {
            "type": f"{_TYPE}internal",
            "title": "internal",
            "status": 500,
            "detail": "an unexpected error; the server log has the details",
            "code": "internal",
            "errors": [],
        }
        return problem_response(body)


__all__ = ["JSON", "PROBLEM", "problem_response", "problems"]

"""Security headers on every answer, and CORS only where settings allow origins."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}
#: The docs page runs the vendored script and its styles, nothing from elsewhere.
CSP_API = "default-src 'none'; frame-ancestors 'none'"
CSP_DOCS = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src blob:; "
    "frame-ancestors 'none'"
)


def security_headers(response: web.StreamResponse, path: str) -> None:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    docs = path.startswith(("/api/v1/docs", "/api/v1/static"))
    response.headers.setdefault("Content-Security-Policy", CSP_DOCS if docs else CSP_API)
    if docs:
        response.headers["Cache-Control"] = "public, max-age=3600"


def cors_middleware(origins: Sequence[str]) -> Any:
    allowed = frozenset(origins)

    @web.middleware
    async def cors(request: web.Request, handler: Any) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        ok = origin is not None and (origin in allowed or "*" in allowed)
        if (
            ok
            and request.method == "OPTIONS"
            and "Access-Control-Request-Method" in request.headers
        ):
            response: web.StreamResponse = web.Response(status=204)
        else:
            response = await handler(request)
        if ok and origin is not None:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
            response.headers["Access-Control-Allow-Headers"] = (
                "Authorization, Content-Type, Idempotency-Key"
            )
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, DELETE"
            response.headers["Access-Control-Max-Age"] = "600"
        return response

    return cors

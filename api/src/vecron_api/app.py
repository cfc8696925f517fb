"""``create_app(runtime)``: the REST API, the probes and the API reference, on one app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

import pluggy
from aiohttp import web

from vecron import Runtime, Unauthenticated
from vecron_api.authn import authenticate, backends_ctx
from vecron_api.keys import BACKENDS, OPENAPI, PRINCIPAL, ROUTE, ROUTES, RUNTIME
from vecron_api.metering import metering
from vecron_api.problems import http_problem, problems
from vecron_api.routing import PREFIX, Lifespan, Route, RouteRegistry
from vecron_api.security import cors_middleware, security_headers


def collect_routes(pm: pluggy.PluginManager) -> RouteRegistry:
    """Every plugin's routes (``vecron_register_routes``), each plugin named as owner."""
    registry = RouteRegistry()
    hook = pm.hook.vecron_register_routes
    impls = [impl for impl in hook.get_hookimpls() if not (impl.wrapper or impl.hookwrapper)]
    for impl in reversed(impls):  # pluggy's call order
        others = [other.plugin for other in impls if other is not impl]
        registry.plugin = impl.plugin_name
        pm.subset_hook_caller("vecron_register_routes", others)(register=registry)
    registry.plugin = "<unknown>"
    return registry


#: Methods that change nothing: refusing them is not audited.
READS = frozenset({"GET", "HEAD", "OPTIONS"})


def _serve(route: Route) -> Any:
    async def handle(request: web.Request) -> web.StreamResponse:
        request[ROUTE] = route
        if not route.public:
            try:
                request[PRINCIPAL] = await authenticate(request)
            except Unauthenticated as exc:
                if request.method not in READS:
                    await request.app[RUNTIME].audit.unauthenticated(
                        action=f"api.{route.operation_id}",
                        resource=f"api:{request.method} {request.path}",
                        address=request.remote,
                        reason=exc.message,
                    )
                raise
        return await route.handler(request)

    handle.__name__ = route.operation_id
    return handle


@web.middleware
async def _headers(request: web.Request, handler: Any) -> web.StreamResponse:
    response: web.StreamResponse
    if _missing_static(request):
        response = http_problem(web.HTTPNotFound(), request)
    else:
        response = await handler(request)
    security_headers(response, request.path)
    return response


def _missing_static(request: web.Request) -> bool:
    """A static file that is not there: aiohttp's file response would answer a bare 404
    (decided while it sends, too late for the problem middleware)."""
    resource = request.match_info.route.resource
    directory = resource.get_info().get("directory") if resource is not None else None
    if directory is None:
        return False
    return not (directory / request.match_info.get("filename", "")).is_file()


async def _on_prepare(request: web.Request, response: web.StreamResponse) -> None:
    # Error answers made outside the middleware chain (none expected) get them too.
    security_headers(response, request.path)


def create_app(runtime: Runtime) -> web.Application:
    """The API app for an opened ``runtime``: routes of every plugin under ``/api/v1``,
    ``/api/v1/openapi.json``, ``/api/v1/docs``, ``/healthz``, ``/readyz`` and
    ``/metrics``."""
    from vecron_api.openapi import build_document
    from vecron_api.pages import docs_page, openapi_json

    settings = runtime.settings
    middlewares: list[Any] = [_headers, problems]
    if settings.cors_origins:
        middlewares.insert(0, cors_middleware(settings.cors_origins))
    middlewares.insert(0, metering)  # outermost: sees every answer's final status
    app = web.Application(middlewares=middlewares, client_max_size=settings.api_max_body_bytes)
    app[RUNTIME] = runtime
    app[BACKENDS] = {}
    routes = collect_routes(runtime.pm)
    app[ROUTES] = routes
    for route in routes.routes:
        app.router.add_route(route.method.upper(), route.full_path, _serve(route))
    # A job document's schema is the installed executors' and triggers' Config models.
    app[OPENAPI] = build_document(routes.routes, {"JobDocument": runtime.jobs.schema()})
    app.router.add_get(f"{PREFIX}/openapi.json", openapi_json)
    app.router.add_get(f"{PREFIX}/docs", docs_page)
    static = resources.files("vecron_api") / "static"
    app.router.add_static(f"{PREFIX}/static", str(static), show_index=False)
    _add_probes(app, runtime)
    app.cleanup_ctx.append(backends_ctx)
    for lifespan in routes.lifespans:
        app.cleanup_ctx.append(_lifespan_ctx(lifespan))
    app.on_response_prepare.append(_on_prepare)
    return app


def _lifespan_ctx(lifespan: Lifespan) -> Any:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        async with lifespan(app[RUNTIME]):
            yield

    return ctx


def _add_probes(app: web.Application, runtime: Runtime) -> None:
    from vecron import add_probes

    add_probes(app, runtime.readiness_checks(), runtime.metrics)

"""``GET /plugins``: what is installed."""

from __future__ import annotations

from aiohttp import web

from vecron import Permission, PluginView
from vecron_api.requests import principal, reply, runtime
from vecron_api.routing import Route


async def list_plugins(request: web.Request) -> web.Response:
    return reply(await runtime(request).plugins.list(principal(request)))


ROUTES: list[Route] = [
    Route(
        method="GET",
        path="/plugins",
        handler=list_plugins,
        operation_id="listPlugins",
        summary="Installed plugins: distribution, version, hooks and what they add",
        tag="plugins",
        # PluginService.list checks it: the installed plugins are what a reader of jobs sees.
        permission=Permission.JOB_READ,
        response=list[PluginView],
    )
]

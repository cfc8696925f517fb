"""What the app keeps: typed ``web.AppKey`` s and request keys, in one place."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from vecron import AuthBackend, Principal, Runtime
from vecron_api.routing import Route, RouteRegistry

RUNTIME = web.AppKey("runtime", Runtime)
ROUTES = web.AppKey("routes", RouteRegistry)
#: The started auth backends, in the order settings ``auth_backends`` names them.
BACKENDS = web.AppKey("backends", dict[str, AuthBackend[Any]])
#: The OpenAPI document, built once per app.
OPENAPI = web.AppKey("openapi", dict[str, Any])

#: Request keys: the authenticated principal and the route being served.
PRINCIPAL = web.RequestKey("principal", Principal)
ROUTE = web.RequestKey("route", Route)

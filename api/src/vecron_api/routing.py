"""Route declarations: one :class:`Route` is the handler, its OpenAPI operation and the
permission the route x role test matrix checks."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from vecron import Permission, PluginError, Runtime

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: What a plugin's routes hold for the app's life (a connection, a rate limiter):
#: entered with the app's runtime before the first request, left at shutdown.
Lifespan = Callable[[Runtime], AbstractAsyncContextManager[None]]

#: Prefix of every API route.
PREFIX = "/api/v1"
_PARAM = re.compile(r"\{([a-z_][a-z0-9_]*)(?::[^}]*)?\}")


@dataclass(frozen=True, kw_only=True, slots=True)
class Route:
    """One operation of the API.

    ``permission`` is what the service behind it checks (documented as ``x-permission``);
    the handler never checks it itself. ``public`` routes need no credentials (login).
    ``body``/``query`` models validate the request and document it; ``response`` is the
    success body's type (a model, ``list[Model]``) or ``None`` for no body.
    """

    method: str
    path: str
    handler: Handler
    operation_id: str
    summary: str
    tag: str
    permission: Permission | None = None
    public: bool = False
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None
    status: int = 200
    errors: tuple[int, ...] = ()
    #: False: the body may be left out (its model's defaults apply).
    body_required: bool = True
    #: Other success statuses answered with the same body (PUT: 201 when it created).
    also: tuple[int, ...] = ()
    #: Media types the body may come in (the first is documented with the body model).
    body_types: tuple[str, ...] = ("application/json",)
    #: Media type of a non-JSON success body (a file download).
    response_type: str | None = None
    description: str = ""
    #: Request headers the route reads, documented as parameters: name, description.
    headers: tuple[tuple[str, str], ...] = ()
    #: JSON Schema keywords a path parameter's value must also match (a ``pattern``), so
    #: the document says which values the route takes: name -> keywords.
    path_schemas: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, hash=False)

    @property
    def path_params(self) -> list[str]:
        return _PARAM.findall(self.path)

    @property
    def full_path(self) -> str:
        return PREFIX + self.path

    @property
    def openapi_path(self) -> str:
        return _PARAM.sub(lambda m: "{" + m.group(1) + "}", self.full_path)


@dataclass(slots=True)
class RouteRegistry:
    """The routes of one app, in registration order (``vecron_register_routes``)."""

    routes: list[Route] = field(default_factory=list)
    plugin: str = "<unknown>"
    owners: dict[str, str] = field(default_factory=dict)
    lifespans: list[Lifespan] = field(default_factory=list)

    def add_lifespan(self, lifespan: Lifespan) -> None:
        """Open what the plugin's routes need when the app starts and close it when it
        stops: ``async with lifespan(runtime):`` around the app's life (registration
        order in, reverse order out). Each app collects the routes anew, so state kept
        by the object the lifespan belongs to is that app's alone."""
        self.lifespans.append(lifespan)

    def add(self, route: Route) -> None:
        """Add ``route``.

        :raises PluginError: another route has its method and path or its operation id.
        """
        key = f"{route.method.upper()} {route.openapi_path}"
        for other in self.routes:
            if f"{other.method.upper()} {other.openapi_path}" == key:
                raise PluginError(
                    f"{self.plugin}: route {key} is already added by "
                    f"{self.owners.get(other.operation_id, '?')}"
                )
            if other.operation_id == route.operation_id:
                raise PluginError(
                    f"{self.plugin}: operation id {route.operation_id!r} is already taken"
                )
        self.routes.append(route)
        self.owners[route.operation_id] = self.plugin

    def find(self, operation_id: str) -> Route:
        for route in self.routes:
            if route.operation_id == operation_id:
                return route
        raise KeyError(operation_id)

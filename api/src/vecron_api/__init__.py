"""vecron's REST API. This is the public API for plugins that add routes.

A plugin's ``vecron_register_routes(register)`` hook adds :class:`Route` s; their handlers
use the request helpers below (the caller, the runtime, the validated body and query, the
reply). Names are imported on first use, so loading the plugin entry point costs nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vecron_api.app import create_app as create_app
    from vecron_api.requests import auth_backend as auth_backend
    from vecron_api.requests import body as body
    from vecron_api.requests import client_address as client_address
    from vecron_api.requests import principal as principal
    from vecron_api.requests import query as query
    from vecron_api.requests import reply as reply
    from vecron_api.requests import runtime as runtime
    from vecron_api.routing import PREFIX as PREFIX
    from vecron_api.routing import Route as Route
    from vecron_api.routing import RouteRegistry as RouteRegistry

_HOMES: dict[str, str] = {
    "create_app": "vecron_api.app",
    "auth_backend": "vecron_api.requests",
    "body": "vecron_api.requests",
    "client_address": "vecron_api.requests",
    "principal": "vecron_api.requests",
    "query": "vecron_api.requests",
    "reply": "vecron_api.requests",
    "runtime": "vecron_api.requests",
    "PREFIX": "vecron_api.routing",
    "Route": "vecron_api.routing",
    "RouteRegistry": "vecron_api.routing",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

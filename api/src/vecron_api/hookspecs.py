"""The API's hook: plugins add routes under ``/api/v1``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from vecron_api.routing import RouteRegistry

_spec = pluggy.HookspecMarker("vecron")


@_spec
def vecron_register_routes(register: RouteRegistry) -> None:
    """Add routes to the REST API.

    Called once per app, when :func:`vecron_api.create_app` builds it. Each route is a
    :class:`vecron_api.Route`: its handler parses the request, calls a service (which
    checks the permission and audits) and replies with the service's view. The route's
    ``permission``, ``body``, ``query`` and ``response`` make its OpenAPI operation.

    :param register: call ``register.add(route)``; ``(method, path)`` and
        ``operation_id`` must be unique.
    """

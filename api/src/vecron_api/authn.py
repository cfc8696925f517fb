"""Who is calling: the enabled auth backends, asked in order.

Backends only turn a request into a :class:`vecron.Principal`; what the principal may do
is decided by the core services (:func:`vecron.authorize`). A request no backend
recognises is refused with 401 before any handler runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from vecron import (
    AuthBackend,
    AuthRequest,
    AuthServices,
    ConfigurationError,
    Principal,
    Unauthenticated,
    ValidationError,
    problems_from_pydantic,
)
from vecron_api.keys import BACKENDS, RUNTIME


def auth_request(request: web.Request) -> AuthRequest:
    return AuthRequest(
        headers={name.lower(): value for name, value in request.headers.items()},
        address=request.remote,
        method=request.method,
        path=request.path,
    )


async def authenticate(request: web.Request) -> Principal:
    """The caller, from the first backend that recognises the request.

    :raises Unauthenticated: no credentials, or none a backend accepts.
    """
    asked = auth_request(request)
    for backend in request.app[BACKENDS].values():
        found = await backend.authenticate(asked)
        if found is not None:
            return found
    if asked.headers.get("authorization"):
        raise Unauthenticated("the credentials are not valid")
    raise Unauthenticated("this route needs credentials: send Authorization: Bearer <token>")


def build_backend(kind: str, cls: type[AuthBackend[Any]], raw: Any) -> AuthBackend[Any]:
    from pydantic import ValidationError as PydanticError

    try:
        config = cls.Config.model_validate(raw or {})
    except PydanticError as exc:
        first = problems_from_pydantic(exc.errors(include_url=False), data=raw)[0]
        raise ConfigurationError(
            f"setting auth.{kind}.{first.field}: {first.message}", field=f"auth.{kind}"
        ) from None
    return cls(config)


async def backends_ctx(app: web.Application) -> AsyncIterator[None]:
    """Start the backends settings ``auth_backends`` name; close them at shutdown."""
    rt = app[RUNTIME]
    settings = rt.settings
    started: dict[str, AuthBackend[Any]] = {}
    services = AuthServices(
        database=rt.store,
        secrets=rt.secrets,
        state_dir=settings.state_dir,
        audit=rt.store.add_audit,
        events=rt.events,
        settings=settings,
    )
    try:
        for kind in settings.auth_backends:
            try:
                cls = rt.registry.auth_backend(kind)
            except ValidationError as exc:
                raise ConfigurationError(exc.message, field="auth_backends") from None
            backend = build_backend(kind, cls, settings.auth.get(kind))
            await backend.start(services)
            started[kind] = backend
        app[BACKENDS].update(started)
        yield
    finally:
        for backend in reversed(started.values()):
            await backend.close()

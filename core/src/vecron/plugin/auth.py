"""The auth backend contract: turn a request's credentials into a :class:`Principal`.

Backends never decide what a principal may do: they name who it is and which roles it
holds (:func:`vecron.auth.roles.permissions_of` gives the permissions), and the core
services call :func:`vecron.auth.authorize`. Several backends may be enabled at once
(settings ``auth_backends``, in order); the API asks each in turn until one recognises
the request.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol

from pydantic import BaseModel, ConfigDict
from typing_extensions import TypeVar

from vecron.auth.audit import AuditEntry
from vecron.auth.principal import Principal

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from vecron.events import EventSink
    from vecron.secrets.box import SecretBox


class AuthBackendConfig(BaseModel):
    """Base of every auth backend's ``Config`` (settings ``[auth.<kind>]``); give every
    field a ``description``."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


AuthConfigT = TypeVar("AuthConfigT", bound=AuthBackendConfig, default=AuthBackendConfig)


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthRequest:
    """What a backend may look at: the request's headers (names lower-cased), the
    client's address, the method and path. Nothing else of the HTTP request leaks in, so
    backends stay testable without a server."""

    headers: Mapping[str, str] = field(default_factory=dict)
    address: str | None = None
    method: str = "GET"
    path: str = "/"

    def bearer(self) -> str | None:
        """The token of an ``Authorization: Bearer <token>`` header, if any."""
        value = self.headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return token.strip()


class Database(Protocol):
    """vecron's database, shared: read on a connection, write in a transaction (on
    SQLite every write goes through vecron's one writer, so a plugin's writes never see
    "database is locked")."""

    def connect(self) -> AbstractAsyncContextManager[AsyncConnection]: ...

    def begin(self) -> AbstractAsyncContextManager[AsyncConnection]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthServices:
    """What vecron lends a backend when it starts.

    ``database`` is vecron's database (the backend's own tables come from its migrations,
    registered through ``vecron_register_migrations``); ``secrets`` seals values at rest
    with vecron's secret keys; ``state_dir`` is where vecron keeps local state files.
    """

    database: Database
    secrets: SecretBox
    state_dir: Path
    audit: Callable[[AuditEntry], Awaitable[None]]
    """Record an audit entry (a login, a refused login, a user changed) in vecron's log."""
    events: EventSink | None = None
    settings: Any = None
    """vecron's :class:`vecron.settings.Settings`."""


class AuthBackend(Generic[AuthConfigT], metaclass=ABCMeta):
    """An auth backend, generic over its ``Config``: ``class Db(AuthBackend[DbConfig])``.

    Lifecycle: constructed with its validated config, :meth:`start` once before the first
    request, :meth:`close` once at shutdown. :meth:`authenticate` is called concurrently.
    """

    kind: ClassVar[str]
    Config: ClassVar[type[AuthBackendConfig]] = AuthBackendConfig

    def __init__(self, config: AuthConfigT) -> None:
        self.config = config

    async def start(self, services: AuthServices) -> None:
        """Open connections, load keys; the default does nothing."""

    async def close(self) -> None:
        """Release what :meth:`start` opened; the default does nothing."""

    @abstractmethod
    async def authenticate(self, request: AuthRequest) -> Principal | None:
        """Who sent ``request``.

        :returns: the principal (``source="api"``, ``address`` from the request), or
            ``None`` when the request carries no credentials this backend recognises
            (the next backend is asked).
        :raises vecron.errors.Unauthenticated: the credentials are this backend's but
            invalid (bad signature, expired, revoked, disabled user). The message is
            safe to show: it never contains the token.
        """

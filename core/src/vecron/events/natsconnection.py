"""The NATS connection the queue and the event transport both open, opened one way.

Reconnect forever: a nats-server restart must not end a worker or an API process. The
first connect is bounded, so a wrong URL fails at start-up instead of hanging, and its
error names the servers with their passwords hidden. The queue imports this from the
events wing because that is the lower of the two layers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from vecron.errors import BackendUnavailable, ConfigurationError
from vecron.urls import redact_url

if TYPE_CHECKING:
    from nats.aio.client import Client


class ConnectionWatch:
    """The client's callbacks: errors and a lost connection are warnings, a restored one
    is noted; a loss while the owner closes the connection (``closing``) is expected."""

    def __init__(self, log: Any, label: str) -> None:
        self.log = log
        self.label = label
        self.closing = False

    async def on_error(self, exc: Exception) -> None:
        self.log.warning(f"{self.label} error", error=f"{type(exc).__name__}: {exc}")

    async def on_disconnected(self) -> None:
        if not self.closing:
            self.log.warning(f"{self.label} lost; reconnecting")

    async def on_reconnected(self) -> None:
        self.log.info(f"{self.label} restored")


async def connect(
    servers: Sequence[str],
    *,
    user: str,
    name: str,
    watch: ConnectionWatch,
    connect_timeout: float,
    reconnect_wait: float,
    hint: str | None = None,
    **options: Any,
) -> Client:
    """A connected client named ``name`` (as the server lists it); ``options`` go to
    ``Client.connect`` as they are. ``user`` (``the nats:// queue``) is named in errors.

    :raises ConfigurationError: nats-py is not installed.
    :raises BackendUnavailable: no server answered within ``connect_timeout`` seconds.
    """
    try:
        import nats.errors
        from nats.aio.client import Client as NatsClient
    except ImportError as exc:
        raise ConfigurationError(
            f"{user} needs the nats-py package", hint="install vecron-core[nats]"
        ) from exc
    nc = NatsClient()
    try:
        await asyncio.wait_for(
            nc.connect(
                servers=list(servers),
                name=name,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=reconnect_wait,  # type: ignore[arg-type]
                connect_timeout=min(connect_timeout, 5.0),  # type: ignore[arg-type]
                error_cb=watch.on_error,
                disconnected_cb=watch.on_disconnected,
                reconnected_cb=watch.on_reconnected,
                **options,
            ),
            timeout=connect_timeout,
        )
    except (TimeoutError, OSError, nats.errors.Error) as exc:
        await nc.close()
        shown = ", ".join(redact_url(server) for server in servers)
        raise BackendUnavailable(
            f"{user} cannot connect to NATS at {shown}: {type(exc).__name__} {exc}".strip(),
            hint=hint,
        ) from exc
    watch.closing = False
    return nc

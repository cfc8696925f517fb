"""Events between processes over core NATS (distributed mode).

Each event is published as its JSON to ``<prefix>.<kind>`` (for example
``vecron.executions.events.execution.finished``); a subscription listens on the subjects
of the kinds it wants. Core NATS, not JetStream: an event is a hint that the store
changed, worth nothing to a consumer that was not listening, so nothing is stored or
acknowledged. While the connection is down, events are buffered by the client up to
``pending_size`` bytes and sent on reconnect; beyond that they are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import ValidationError

from vecron.errors import BackendUnavailable, ConfigurationError
from vecron.events.kinds import Event, EventKind, parse_event
from vecron.events.natsconnection import ConnectionWatch, connect
from vecron.events.transport import EventTransport, Subscription
from vecron.telemetry import get_logger

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.aio.msg import Msg
    from nats.aio.subscription import Subscription as NatsSubscription

log = get_logger("vecron.events.nats")

#: Bytes of events the client keeps while disconnected.
PENDING_SIZE = 2 * 1024 * 1024


class NatsEventTransport(EventTransport):
    """``servers`` are ``nats://[user:password@]host:port`` URLs; ``prefix`` the subject
    namespace (one per installation sharing the NATS server)."""

    def __init__(
        self,
        servers: Sequence[str],
        prefix: str,
        *,
        connect_timeout: float = 10.0,
        reconnect_wait: float = 1.0,
    ) -> None:
        if not servers:
            raise ConfigurationError("no NATS server to send events to", field="queue_url")
        self.servers = list(servers)
        self.prefix = prefix
        self.connect_timeout = connect_timeout
        self.reconnect_wait = reconnect_wait
        self._nc: Client | None = None
        self._subs: dict[Subscription, list[NatsSubscription]] = {}
        self._watch = ConnectionWatch(log, "NATS event connection")
        self.undecodable = 0  # messages on our subjects that are no event we know

    def subject(self, kind: EventKind) -> str:
        return f"{self.prefix}.{kind.value}"

    async def start(self) -> None:
        self._nc = await connect(
            self.servers,
            user="the NATS event transport",
            name="vecron-events",
            watch=self._watch,
            connect_timeout=self.connect_timeout,
            reconnect_wait=self.reconnect_wait,
            pending_size=PENDING_SIZE,
        )

    async def close(self) -> None:
        nc, self._nc = self._nc, None
        self._subs.clear()
        if nc is None or nc.is_closed:
            return
        self._watch.closing = True
        try:
            await nc.flush(timeout=2)  # publishes are buffered writes
        except Exception as exc:  # closing anyway: the rest of the buffer is lost
            log.warning("events not flushed to NATS", error=f"{type(exc).__name__}: {exc}")
        await nc.close()

    async def publish(self, event: Event) -> None:
        await self._client().publish(self.subject(event.kind), event.model_dump_json().encode())

    async def attach(self, subscription: Subscription) -> None:
        nc = self._client()

        async def deliver(msg: Msg) -> None:
            try:
                event = parse_event(msg.data)
            except ValidationError:
                # A newer vecron's kind, or not ours at all: skip it, keep listening.
                self.undecodable += 1
                log.debug("undecodable event skipped", subject=msg.subject)
                return
            subscription.offer(event)

        kinds = subscription.kinds
        subjects = (
            [f"{self.prefix}.>"] if kinds is None else [self.subject(k) for k in sorted(kinds)]
        )
        self._subs[subscription] = [await nc.subscribe(s, cb=deliver) for s in subjects]
        # Once the server has the interest, every later publish reaches this subscription.
        await nc.flush(timeout=max(1, round(self.connect_timeout)))

    async def detach(self, subscription: Subscription) -> None:
        for sub in self._subs.pop(subscription, []):
            try:
                await sub.unsubscribe()
            except Exception as exc:  # a closed connection has no subscriptions left
                log.debug("event subscription not removed", error=f"{type(exc).__name__}: {exc}")

    def _client(self) -> Client:
        if self._nc is None:
            raise BackendUnavailable("the NATS event transport is not started")
        return self._nc

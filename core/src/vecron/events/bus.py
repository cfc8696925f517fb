"""The event bus: the one :class:`~vecron.events.EventSink` of a process.

An emitted event goes two ways: to the ``vecron_execution_event`` observers of this
process (through pluggy, in a thread of their own) and to the transport, which carries it
to the subscriptions of every process (in-process on the embedded default, NATS in
distributed mode). An event that comes back from the transport is never handed to the
observers again: each process's observers see the events that happened in it, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from typing import Any

import pluggy

from vecron.events.kinds import Event, EventKind
from vecron.events.observers import HOOK, ObserverThread
from vecron.events.transport import EventTransport, MemoryTransport, Subscription
from vecron.telemetry import get_logger

log = get_logger("vecron.events")

#: Seconds between two warnings about dropped events.
DROP_WARNING_EVERY = 10.0


class EventBus:
    """``emit`` never blocks and never raises; delivery is best effort (the store is the
    truth). Start it on the event loop that emits, close it before the loop ends."""

    def __init__(
        self,
        pm: pluggy.PluginManager | None,
        transport: EventTransport | None = None,
        *,
        buffer: int = 10_000,
    ) -> None:
        self.pm = pm
        self.transport = transport or MemoryTransport()
        self.buffer = buffer
        self.dropped = 0  # events lost before leaving this process (buffers full, closed)
        self._observers = ObserverThread(pm, limit=buffer) if pm is not None else None
        self._outbound: asyncio.Queue[Any] | None = None
        self._pump: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._warned_at = 0.0

    # -- lifecycle ------------------------------------------------------------------
    async def start(self) -> None:
        await self.transport.start()
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._outbound = asyncio.Queue(self.buffer)
        self._pump = asyncio.create_task(self._send(self._outbound), name="vecron-event-bus")

    async def close(self, timeout: float = 5.0) -> None:
        """Deliver what was emitted (for at most ``timeout`` seconds), then stop."""
        if self._pump is None:
            return
        try:
            await asyncio.wait_for(self.flush(), timeout)
        except TimeoutError:
            log.warning("events still undelivered at shutdown are dropped")
        pump, self._pump, self._outbound = self._pump, None, None
        pump.cancel()
        await asyncio.gather(pump, return_exceptions=True)
        if self._observers is not None:
            self._observers.stop(timeout=0.5)
        await self.transport.close()

    async def __aenter__(self) -> EventBus:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- emitting -------------------------------------------------------------------
    def emit(self, event: Event) -> None:
        try:
            if self._loop is not None and threading.get_ident() != self._loop_thread:
                # asyncio queues belong to their loop's thread.
                self._loop.call_soon_threadsafe(self._enqueue, event)
            else:
                self._enqueue(event)
        except Exception:  # an emitter must never fail because of its events
            log.exception("event not emitted", event_kind=getattr(event, "kind", None))

    def _enqueue(self, event: Event) -> None:
        if self._outbound is None:
            self._lost("the event bus is not running")
            return
        observers = self._observers
        if observers is not None and self._has_observers() and not observers.submit(event):
            self._lost("observers are behind")
        try:
            self._outbound.put_nowait(event)
        except asyncio.QueueFull:
            self._lost("the transport is behind")

    def _has_observers(self) -> bool:
        assert self.pm is not None
        return bool(getattr(self.pm.hook, HOOK).get_hookimpls())

    def _lost(self, why: str) -> None:
        self.dropped += 1
        now = time.monotonic()
        if now - self._warned_at >= DROP_WARNING_EVERY:
            self._warned_at = now
            log.warning("events dropped", reason=why, dropped_total=self.dropped)

    async def _send(self, outbound: asyncio.Queue[Any]) -> None:
        while True:
            item = await outbound.get()
            if isinstance(item, asyncio.Future):  # a flush marker
                if not item.done():
                    item.set_result(None)
                continue
            try:
                await self.transport.publish(item)
            except Exception as exc:  # a broken transport loses this event, not the bus
                self._lost(f"transport: {type(exc).__name__}: {exc}"[:300])

    async def flush(self) -> None:
        """Return once every event emitted before the call reached the observers and the
        transport (for tests and shutdown)."""
        loop = asyncio.get_running_loop()
        waits: list[asyncio.Future[None]] = []
        if self._outbound is not None:
            sent: asyncio.Future[None] = loop.create_future()
            await self._outbound.put(sent)
            waits.append(sent)
        if self._observers is not None:
            observed: asyncio.Future[None] = loop.create_future()

            def reached() -> None:
                with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits
                    loop.call_soon_threadsafe(_settle, observed)

            if self._observers.mark(reached):
                waits.append(observed)
        await asyncio.gather(*waits)

    # -- consuming ------------------------------------------------------------------
    @asynccontextmanager
    async def subscribe(
        self, kinds: Collection[EventKind] | None = None, *, buffer: int = 1000
    ) -> AsyncIterator[Subscription]:
        """Every event of ``kinds`` (default: all) emitted by any process sharing the
        transport — this one included — from now until the block ends, typed::

            async with bus.subscribe([EventKind.EXECUTION_FINISHED]) as events:
                async for event in events:
                    ...
        """
        subscription = Subscription(kinds, buffer)
        await self.transport.attach(subscription)
        try:
            yield subscription
        finally:
            subscription.close()
            await self.transport.detach(subscription)


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)

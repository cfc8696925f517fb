"""How events reach subscribers: the contract, a subscription, and the in-process one."""

from __future__ import annotations

import asyncio
from abc import ABCMeta, abstractmethod
from collections.abc import Collection
from typing import Any

from vecron.events.kinds import Event, EventKind

_END = object()


class Subscription:
    """The events one consumer asked for, in arrival order: ``async for event in sub``.

    Holds at most ``buffer`` events; a consumer that falls further behind loses the
    newest ones and sees ``dropped`` grow (an SSE stream would tell its client to reload
    from the store).
    """

    def __init__(self, kinds: Collection[EventKind] | None, buffer: int) -> None:
        self.kinds = frozenset(kinds) if kinds is not None else None
        self.dropped = 0
        self._queue: asyncio.Queue[Any] = asyncio.Queue(buffer)
        self._closed = False

    def wants(self, kind: EventKind) -> bool:
        return self.kinds is None or kind in self.kinds

    def offer(self, event: Event) -> None:
        """Hand over an event without waiting (on the event loop's thread)."""
        if self._closed or not self.wants(event.kind):
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1

    def close(self) -> None:
        """End the iteration once the events already buffered were read."""
        if self._closed:
            return
        self._closed = True
        try:
            self._queue.put_nowait(_END)
        except asyncio.QueueFull:  # drop the newest to make room for the end
            self._queue.get_nowait()
            self.dropped += 1
            self._queue.put_nowait(_END)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        item = await self._queue.get()
        if item is _END:
            self._queue.put_nowait(_END)  # a second iteration ends too
            raise StopAsyncIteration
        event: Event = item
        return event

    async def next(self, timeout: float | None = None) -> Event:
        """The next event.

        :raises TimeoutError: none came within ``timeout`` seconds.
        :raises StopAsyncIteration: the subscription was closed.
        """
        async with asyncio.timeout(timeout):
            return await self.__anext__()


class EventTransport(metaclass=ABCMeta):
    """Carries events to the subscriptions of every process that shares it.

    Invariants: ``publish`` is best effort (it may lose an event, never blocks for long
    and raises only for a broken transport, which the bus logs); a subscription gets each
    event published while it is open at most once.
    """

    async def start(self) -> None:  # noqa: B027 - nothing to open in-process
        """Connect; called once before anything else."""

    async def close(self) -> None:  # noqa: B027
        """Send what is buffered (bounded in time), then disconnect."""

    @abstractmethod
    async def publish(self, event: Event) -> None:
        """Send ``event`` to every open subscription, in this process and others."""

    @abstractmethod
    async def attach(self, subscription: Subscription) -> None:
        """Start feeding ``subscription``; it receives events published after this
        returns."""

    @abstractmethod
    async def detach(self, subscription: Subscription) -> None:
        """Stop feeding ``subscription``."""


class MemoryTransport(EventTransport):
    """The embedded default: one process, so publishing is handing over."""

    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()

    async def publish(self, event: Event) -> None:
        for subscription in tuple(self._subscriptions):
            subscription.offer(event)

    async def attach(self, subscription: Subscription) -> None:
        self._subscriptions.add(subscription)

    async def detach(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

"""``memory://``: an in-process queue for the embedded, single-process mode.

Nothing survives the process; the store's reconciler re-publishes queued executions at
start-up, so a crash loses no execution.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence

from vecron.queue.base import Delivery, Queue, QueueMessage


class _MemoryDelivery(Delivery):
    __slots__ = ("_done", "_queue", "message")

    def __init__(self, queue: MemoryQueue, message: QueueMessage) -> None:
        self._queue = queue
        self.message = message
        self._done = False

    async def ack(self) -> None:
        self._done = True

    async def nak(self, delay: float = 0.0) -> None:
        if self._done:
            return
        self._done = True
        if delay > 0:
            asyncio.get_running_loop().call_later(delay, self._queue.put_nowait, [self.message])
        else:
            self._queue.put_nowait([self.message])


class MemoryQueue(Queue):
    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._items: deque[QueueMessage] = deque()
        self._ready = asyncio.Event()

    def put_nowait(self, messages: Sequence[QueueMessage]) -> None:
        self._items.extend(messages)
        if self._items:
            self._ready.set()

    async def publish(self, messages: Sequence[QueueMessage]) -> None:
        self.put_nowait(messages)

    async def fetch(self, max_messages: int, timeout: float) -> list[Delivery]:
        if not self._items:
            self._ready.clear()
            try:
                await asyncio.wait_for(self._ready.wait(), timeout)
            except TimeoutError:
                return []
        out: list[Delivery] = []
        while self._items and len(out) < max_messages:
            out.append(_MemoryDelivery(self, self._items.popleft()))
        return out

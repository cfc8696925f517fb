"""The relay: hands executions the store holds unpublished to the queue.

New executions (fires, manual runs) and retries that came due wait in the store with
``published`` false until the relay sends them and marks them sent. The scheduler relays
on every tick; a process that works without a scheduler (``vecron job run --wait`` on
the in-process queue, which nobody else can see) runs the same relay on its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta

from vecron.clock import utcnow
from vecron.models.execution import Execution
from vecron.queue.base import Queue, QueueMessage
from vecron.scheduling.wakeup import Wakeup
from vecron.store.base import Store


class Relay:
    def __init__(self, store: Store, queue: Queue, *, batch_size: int = 500) -> None:
        self.store = store
        self.queue = queue
        self.batch_size = batch_size

    async def publish(self, executions: Sequence[Execution]) -> None:
        """Send ``executions`` to the queue, then mark them sent (a crash in between
        sends one again, which the claim de-duplicates)."""
        if executions:
            await self.queue.publish(
                [QueueMessage(e.id, e.not_before, e.attempt) for e in executions]
            )
            await self.store.mark_published(executions)

    async def publish_pending(self, horizon: datetime) -> int:
        """Send every unpublished execution due by ``horizon``; returns how many."""
        sent = 0
        while True:
            pending = await self.store.pending_publish(horizon, self.batch_size)
            await self.publish(pending)
            sent += len(pending)
            if len(pending) < self.batch_size:
                return sent

    async def run(
        self, stop: asyncio.Event, wakeup: Wakeup, *, lookahead: float = 1.0, every: float = 0.5
    ) -> None:
        """Relay until ``stop``: at once, then whenever ``wakeup`` is notified (a run
        created, a retry scheduled) or ``every`` seconds pass."""
        while not stop.is_set():
            await self.publish_pending(utcnow() + timedelta(seconds=lookahead))
            stopping = asyncio.create_task(stop.wait())
            waking = asyncio.create_task(wakeup.wait(every))
            await asyncio.wait({stopping, waking}, return_when=asyncio.FIRST_COMPLETED)
            for task in (stopping, waking):
                task.cancel()

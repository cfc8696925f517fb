"""Wakes the scheduler early when jobs or retries change.

In one process an :class:`asyncio.Event` is enough; other processes (``vecron job
apply`` while ``vecron up`` runs) are noticed through the store's change revision.
"""

from __future__ import annotations

import asyncio
import contextlib

from vecron.store.base import Store


class Wakeup:
    def __init__(self, store: Store, *, poll: float = 0.5) -> None:
        self._store = store
        self._poll = poll
        self._event = asyncio.Event()
        self._revision: int | None = None

    def notify(self) -> None:
        self._event.set()

    async def wait(self, timeout: float | None) -> None:
        """Return after ``timeout`` seconds, or earlier when something changed."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + max(0.0, timeout)
        if self._revision is None:
            self._revision = await self._store.revision()
        while True:
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                break
            step = self._poll if remaining is None else min(self._poll, remaining)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), step)
            if self._event.is_set():
                break
            revision = await self._store.revision()
            if revision != self._revision:
                self._revision = revision
                break
        self._event.clear()

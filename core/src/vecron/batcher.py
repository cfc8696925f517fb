"""Coalesce concurrent single-item calls into one batched store call.

Hundreds of executions due at the same instant each want to claim, checkpoint and
finish; one transaction for all of them is what keeps lateness low on any database.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Batcher(Generic[T, R]):
    """``await batcher.submit(item)`` returns that item's result from one ``flush(items)``.

    A batch is flushed when ``max_size`` items wait or ``max_delay`` seconds passed since
    the first one; one flush runs at a time, and items arriving meanwhile form the next
    batch, so batches grow exactly when the store is the bottleneck.
    """

    def __init__(
        self,
        flush: Callable[[Sequence[T]], Awaitable[Sequence[R]]],
        *,
        max_size: int = 500,
        max_delay: float = 0.002,
    ) -> None:
        self._flush = flush
        self._max_size = max_size
        self._max_delay = max_delay
        self._items: list[tuple[T, asyncio.Future[R]]] = []
        self._kick = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._items.append((item, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        if len(self._items) >= self._max_size:
            self._kick.set()
        return await future

    async def _run(self) -> None:
        while self._items:
            if len(self._items) < self._max_size:
                self._kick.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._kick.wait(), self._max_delay)
            batch, self._items = self._items[: self._max_size], self._items[self._max_size :]
            try:
                results = await self._flush([item for item, _ in batch])
            except BaseException as exc:  # every waiter must hear of the failure
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

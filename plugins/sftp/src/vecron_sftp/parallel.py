"""Running one coroutine per item with a few at a time: SFTP serves requests of one
session concurrently, so many small files need not pay one round trip after another."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

#: Files transferred at once; memory stays bounded by two 1 MiB chunks per transfer.
TRANSFERS = 4
#: Path lookups (realpath, stat) in flight at once.
LOOKUPS = 32

T = TypeVar("T")
R = TypeVar("R")


async def map_bounded(fn: Callable[[T], Awaitable[R]], items: Sequence[T], limit: int) -> list[R]:
    """``[await fn(item) for item in items]``, with at most ``limit`` running at once.

    The first failure cancels the rest and is raised as itself (not as a group).
    """
    results: dict[int, R] = {}
    indexes = iter(range(len(items)))

    async def worker() -> None:
        # Workers share one iterator, so each item is taken once; no task per item, so a
        # hundred thousand files cost `limit` tasks.
        for index in indexes:
            results[index] = await fn(items[index])

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(limit, len(items))):
                group.create_task(worker())
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return [results[index] for index in range(len(items))]

"""Streaming between a remote file and object storage, one extra chunk in flight.

The next chunk is requested from the server while storage writes the last one (and a
chunk is written to the server while storage reads the next), so a round trip to a
distant server is not paid in full per chunk. Memory stays bounded by two chunks of at
most 1 MiB each, whatever the file size.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable
from typing import Any, cast

import asyncssh

from vecron import CHUNK_SIZE


async def _drop(pending: asyncio.Future[Any] | None) -> None:
    """Cancel an unfinished request and wait until it is gone."""
    if pending is not None and not pending.done():
        pending.cancel()
        with contextlib.suppress(asyncio.CancelledError, asyncssh.Error):
            await pending


async def read_ahead(
    source: asyncssh.SFTPClientFile, size: int | None
) -> AsyncGenerator[bytes, None]:
    """The remote file's content in chunks of at most :data:`CHUNK_SIZE` bytes.

    Reads are sized to ``size`` (the file's size when it was opened; None: unknown), then
    one read past it checks the end: a file that grew meanwhile yields more than ``size``
    bytes, which storage refuses. Close the iterator (``contextlib.aclosing``) so that a
    request still in flight is cancelled.
    """
    offset = 0

    def read() -> asyncio.Future[bytes]:
        length = CHUNK_SIZE if size is None else max(1, min(CHUNK_SIZE, size - offset))
        # Explicit offsets: two reads are in flight, the file position would race.
        return asyncio.ensure_future(cast(Awaitable[bytes], source.read(length, offset)))

    pending: asyncio.Future[bytes] | None = read()
    try:
        while pending is not None:
            chunk = await pending
            if not chunk:
                break
            offset += len(chunk)
            pending = read()
            yield chunk
    finally:
        await _drop(pending)


async def write_behind(
    sink: asyncssh.SFTPClientFile, chunks: AsyncIterable[bytes]
) -> tuple[int, str]:
    """Write ``chunks`` to the remote file in order, the next read overlapping a write.

    :returns: the byte count and the SHA-256 (hex) of what was written.
    """
    digest = hashlib.sha256()
    offset = 0
    pending: asyncio.Future[int] | None = None
    try:
        async for chunk in chunks:
            digest.update(chunk)
            if pending is not None:
                await pending
            pending = asyncio.ensure_future(sink.write(chunk, offset))
            offset += len(chunk)
        if pending is not None:
            await pending
    finally:
        await _drop(pending)
    return offset, digest.hexdigest()

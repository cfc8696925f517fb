"""The files of one execution: where executors keep what they download, convert or export.

Everything lives in object storage under ``executions/<execution id>/files/``. Names come
from job definitions and remote servers, so every name goes through
:func:`~vecron.storage.base.check_key`: no ``..``, no absolute path, nothing that could
leave the execution's prefix (S4.5).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Any

from vecron.storage.base import ObjectInfo, ObjectStorage, check_key
from vecron.storage.layout import files_prefix


@dataclass(frozen=True, slots=True)
class StoredFile:
    """One file written for an execution, as the Job Context shows it."""

    name: str
    key: str
    size: int
    sha256: str

    def as_output(self, **extra: Any) -> dict[str, Any]:
        """JSON-ready metadata for a step's output; ``extra`` adds e.g. ``rows``."""
        meta = {"name": self.name, "key": self.key, "size": self.size, "sha256": self.sha256}
        return {**meta, **extra}


class ExecutionFiles:
    """Read and write the files of one execution, confined to its storage prefix."""

    def __init__(self, storage: ObjectStorage, execution_id: str) -> None:
        self.storage = storage
        self.execution_id = execution_id
        self.prefix = files_prefix(execution_id)

    def key(self, name: str) -> str:
        """The storage key of file ``name``.

        :raises ValidationError: ``name`` is absolute, has ``..`` or empty segments, or
            is otherwise not a safe relative key.
        """
        return self.prefix + check_key(name, field="name")

    async def write(
        self,
        name: str,
        chunks: AsyncIterable[bytes],
        size: int | None = None,
        *,
        content_type: str = "application/octet-stream",
    ) -> StoredFile:
        """Stream ``chunks`` into file ``name``; memory stays bounded by one chunk.

        The SHA-256 and size are computed on the way through.
        """
        key = self.key(name)
        digest = hashlib.sha256()
        count = 0

        async def hashed() -> AsyncIterator[bytes]:
            nonlocal count
            async for chunk in chunks:
                digest.update(chunk)
                count += len(chunk)
                yield chunk

        await self.storage.put_stream(key, hashed(), size, content_type=content_type)
        return StoredFile(name, key, count, digest.hexdigest())

    async def write_bytes(
        self, name: str, data: bytes, *, content_type: str = "application/octet-stream"
    ) -> StoredFile:
        key = self.key(name)
        await self.storage.put_bytes(key, data, content_type=content_type)
        return StoredFile(name, key, len(data), hashlib.sha256(data).hexdigest())

    def read(self, name: str) -> AsyncGenerator[bytes, None]:
        """Iterate over file ``name`` in bounded chunks.

        :raises NotFoundError: on the first iteration, when there is no such file.
        """
        return self.storage.open_stream(self.key(name))

    async def read_bytes(self, name: str) -> bytes:
        return await self.storage.get_bytes(self.key(name))

    async def stat(self, name: str) -> ObjectInfo:
        """:raises NotFoundError: no such file."""
        return await self.storage.stat(self.key(name))

    async def exists(self, name: str) -> bool:
        return await self.storage.exists(self.key(name))

    async def names(self, prefix: str = "") -> list[str]:
        """Names of this execution's files that start with ``prefix``, sorted."""
        start = self.prefix + prefix
        return [info.key[len(self.prefix) :] for info in await self.storage.list(start)]

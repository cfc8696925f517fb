"""The files an execution produced: listed and downloaded through one permission check."""

from __future__ import annotations

import mimetypes
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import quote

from vecron.auth import Permission, Principal
from vecron.plugin.files import ExecutionFiles
from vecron.services.audit import Gate
from vecron.services.executions import execution_resource
from vecron.storage import ObjectStorage
from vecron.store.base import Store


@dataclass(frozen=True, slots=True)
class Download:
    """One file, ready to stream: its name, size, media type and bounded chunks."""

    name: str
    size: int
    content_type: str
    chunks: AsyncIterator[bytes]

    @property
    def quoted_name(self) -> str:
        """The base name, percent-encoded for ``Content-Disposition: filename*=UTF-8''``."""
        return quote(self.name.rsplit("/", 1)[-1], safe="")


class ExecutionFileService:
    def __init__(self, store: Store, storage: ObjectStorage, gate: Gate | None = None) -> None:
        self.store = store
        self.storage = storage
        self.gate = gate or Gate(store)

    async def names(self, principal: Principal, execution_id: str) -> list[str]:
        """The execution's file names, sorted. Needs ``execution:read``.

        :raises NotFoundError: no such execution.
        """
        resource = execution_resource(execution_id)
        await self.gate.check(principal, Permission.EXECUTION_READ, "execution.files", resource)
        await self.store.get_execution(execution_id)
        return await ExecutionFiles(self.storage, execution_id).names()

    async def open(self, principal: Principal, execution_id: str, name: str) -> Download:
        """File ``name`` of the execution, streamed in bounded chunks. Needs
        ``execution:read``.

        :raises NotFoundError: no such execution or file.
        :raises ValidationError: ``name`` is not a safe relative name (``..``, absolute).
        """
        resource = execution_resource(execution_id)
        await self.gate.check(principal, Permission.EXECUTION_READ, "execution.file", resource)
        await self.store.get_execution(execution_id)
        files = ExecutionFiles(self.storage, execution_id)
        info = await files.stat(name)
        guessed, _ = mimetypes.guess_type(name)
        return Download(
            name=name,
            size=info.size,
            content_type=guessed or "application/octet-stream",
            chunks=files.read(name),
        )

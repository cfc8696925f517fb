"""The object storage contract: job definition versions, execution context and files.

Keys are ``/``-separated relative paths such as ``executions/<id>/context.json``. Keys
may come from job definitions and API requests, so :func:`check_key` is a security
boundary: a key can never name anything outside the storage (no absolute paths, no
``..``, no backslashes, no empty segments).
"""

from __future__ import annotations

import builtins
import json
import re
from abc import ABCMeta, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vecron.errors import ValidationError

#: Chunk size of :meth:`ObjectStorage.open_stream`: memory stays bounded by it.
CHUNK_SIZE = 1024 * 1024

#: Segments starting with this are where the file backend writes before renaming.
RESERVED_PREFIX = ".vecron-tmp-"

MAX_KEY_LENGTH = 1024

_CONTROL = re.compile("[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One stored object. ``modified`` is an aware UTC datetime."""

    key: str
    size: int
    modified: datetime


def check_key(key: str, *, field: str = "key") -> str:
    """``key`` unchanged if it is a safe relative key.

    :raises ValidationError: absolute, ``.``/``..``/empty segments, backslashes,
        control characters, not UTF-8, a reserved segment, or longer than 1024 bytes.
    """
    if not isinstance(key, str) or not key:
        raise ValidationError("an object key must be a non-empty string", field=field)
    try:
        encoded = key.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("an object key must be valid UTF-8", field=field) from None
    if len(encoded) > MAX_KEY_LENGTH:
        raise ValidationError(f"object key longer than {MAX_KEY_LENGTH} bytes", field=field)
    if key.startswith("/"):
        raise ValidationError(f"object key {key!r} must be relative, not absolute", field=field)
    if "\\" in key:
        raise ValidationError(f"object key {key!r} must use '/', not '\\'", field=field)
    if _CONTROL.search(key):
        raise ValidationError(f"object key {key!r} contains a control character", field=field)
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise ValidationError(
                f"object key {key!r} has an empty, '.' or '..' segment", field=field
            )
        if segment.startswith(RESERVED_PREFIX):
            raise ValidationError(
                f"object key {key!r}: segments starting with {RESERVED_PREFIX!r} are reserved",
                field=field,
            )
    return key


def check_prefix(prefix: str) -> str:
    """``prefix`` unchanged if it is ``""`` or a key, optionally ending with ``/``."""
    if prefix == "":
        return prefix
    check_key(prefix.removesuffix("/"), field="prefix")
    return prefix


class ObjectStorage(metaclass=ABCMeta):
    """Async object storage. Writes are atomic for readers: whole object or the old one.

    ``url`` is safe to show: backends strip secrets from it.
    """

    url: str

    async def start(self) -> None:  # noqa: B027 - backends with nothing to open keep it
        """Open connections, create the root or bucket."""

    async def close(self) -> None:  # noqa: B027
        """Release what :meth:`start` opened."""

    @abstractmethod
    async def put_bytes(
        self, key: str, data: bytes, *, content_type: str = "application/octet-stream"
    ) -> None:
        """Store ``data`` at ``key``, replacing what was there."""

    @abstractmethod
    async def get_bytes(self, key: str) -> bytes:
        """The whole object.

        :raises NotFoundError: nothing at ``key``.
        """

    @abstractmethod
    async def put_stream(
        self,
        key: str,
        chunks: AsyncIterable[bytes],
        size: int | None = None,
        *,
        content_type: str = "application/octet-stream",
    ) -> None:
        """Store what ``chunks`` yields without holding the whole object in memory.

        :param size: the total byte count when known; a stream of another length
            raises :class:`ValidationError` and stores nothing.
        """

    @abstractmethod
    def open_stream(self, key: str) -> AsyncGenerator[bytes, None]:
        """Iterate over the object in chunks of at most :data:`CHUNK_SIZE` bytes.

        Raises :class:`NotFoundError` on the first iteration when nothing is at ``key``.
        A caller that stops early should close the iterator (``contextlib.aclosing``)
        so the file or connection is released at once.
        """

    @abstractmethod
    async def exists(self, key: str) -> bool:
        """Whether an object is at ``key``."""

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove the object at ``key``; nothing there is not an error."""

    @abstractmethod
    async def list(self, prefix: str = "") -> builtins.list[ObjectInfo]:
        """Every object whose key starts with ``prefix`` (plain string prefix), by key."""

    @abstractmethod
    async def stat(self, key: str) -> ObjectInfo:
        """Size and modification time of the object at ``key``.

        :raises NotFoundError: nothing at ``key``.
        """

    async def put_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        """Store several objects; backends may do it in one round trip. The default
        stores them one by one."""
        for key, data in items:
            await self.put_bytes(key, data)

    async def put_json(self, key: str, value: Any) -> None:
        """Store ``value`` as UTF-8 JSON."""
        data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        await self.put_bytes(key, data, content_type="application/json")

    async def get_json(self, key: str) -> Any:
        """The JSON value stored at ``key``.

        :raises NotFoundError: nothing at ``key``.
        :raises ValidationError: the object is not JSON.
        """
        data = await self.get_bytes(key)
        try:
            return json.loads(data)
        except ValueError as exc:
            raise ValidationError(f"object {key!r} is not valid JSON: {exc}") from None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

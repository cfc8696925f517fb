"""Object storage in a local folder: ``file://./.vecron/storage`` or ``file:///abs/path``.

Every blocking call runs in a thread. Each key is resolved (symlinks included) and
checked to lie under the resolved root before any file is touched, so neither a key nor
a symlink planted inside the root reaches a file outside it. Writes go to a temporary
file in the target's folder and are renamed over the target: readers see the old object
or the new one, never a part.

``?fsync=true`` also flushes each write to disk before renaming it (survives power loss,
at the cost of a disk flush per write; a crashed process loses nothing either way).
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import itertools
import os
import secrets
import stat as stat_mode
from collections.abc import AsyncGenerator, AsyncIterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import parse_qs

from vecron.errors import ConfigurationError, ConflictError, NotFoundError, ValidationError
from vecron.statefiles import make_private_folder
from vecron.storage.base import (
    CHUNK_SIZE,
    RESERVED_PREFIX,
    ObjectInfo,
    ObjectStorage,
    check_key,
    check_prefix,
)
from vecron.storage.url import bool_option, check_options
from vecron.urls import redact_url

SCHEME = "file://"


def parse_file_url(url: str) -> tuple[Path, bool]:
    """The absolute root folder and the fsync flag of a ``file://`` URL.

    :raises ConfigurationError: not a ``file://`` URL, no path, or an unknown option.
    """
    if not url.startswith(SCHEME):
        raise ConfigurationError(f"not a file:// storage URL: {redact_url(url)!r}")
    location, _, query = url[len(SCHEME) :].partition("?")
    if not location:
        raise ConfigurationError(
            f"storage URL {redact_url(url)!r} has no folder", hint="e.g. file://./.vecron/storage"
        )
    options = parse_qs(query, keep_blank_values=True)
    check_options(options, {"fsync"}, redact_url(url), "file:// storage accepts fsync=true|false")
    fsync = bool_option(options, "fsync", False, redact_url(url))
    # Relative folders are relative to the working directory, like the SQLite default.
    return Path(location).absolute(), fsync


class FileStorage(ObjectStorage):
    """Objects as files under one root folder."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.root, self.fsync = parse_file_url(url)
        self._real_root: Path | None = None
        self._root_prefix = ""
        # Unique temporary names without mkstemp's random retries: a random tag per
        # instance keeps processes sharing a root (even on other hosts) apart.
        self._tag = secrets.token_hex(6)
        self._serial = itertools.count()  # next() on a count is atomic across threads

    async def start(self) -> None:
        await asyncio.to_thread(self._make_root)

    # -- paths ----------------------------------------------------------------------
    def _make_root(self) -> Path:
        make_private_folder(self.root)
        self._real_root = Path(os.path.realpath(self.root))
        self._root_prefix = os.path.join(self._real_root, "")
        return self._real_root

    def _resolved_root(self) -> Path:
        if self._real_root is None:
            return self._make_root()
        return self._real_root

    def _path(self, key: str) -> Path:
        """The resolved file of ``key``; refuses any key that resolves outside the root."""
        check_key(key)
        root = self._resolved_root()
        # String paths, not pathlib: this runs for every Job Context of a burst.
        target = os.path.realpath(os.path.join(root, key))
        if not target.startswith(self._root_prefix):
            raise ValidationError(f"object key {key!r} leads outside the storage", field="key")
        return Path(target)

    # -- writes ---------------------------------------------------------------------
    # Plain os calls rather than pathlib and file objects: every Job Context of a burst
    # comes through here, while the event loop waits for the GIL.
    def _open_temp(self, key: str, target: Path) -> tuple[int, str]:
        """A new temporary file beside ``target`` (folders made as needed), open for
        writing, mode 0600: contexts may hold step outputs."""
        folder = os.path.dirname(target)
        temp = os.path.join(folder, f"{RESERVED_PREFIX}{self._tag}-{next(self._serial)}")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        try:
            return os.open(temp, flags, 0o600), temp
        except (FileNotFoundError, NotADirectoryError):
            pass
        try:
            make_private_folder(folder)
        except (FileExistsError, NotADirectoryError):
            raise ConflictError(
                f"cannot store {key!r}: a part of its path is an object, not a folder"
            ) from None
        return os.open(temp, flags, 0o600), temp

    @staticmethod
    def _write(fd: int, data: bytes | bytearray) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]

    def _close(self, fd: int) -> None:
        try:
            if self.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)

    def _replace(self, key: str, temp: str, target: Path) -> None:
        """Put the written temporary file in place of ``target``."""
        try:
            os.replace(temp, target)
        except IsADirectoryError:
            raise ConflictError(f"cannot store {key!r}: it is a folder of other keys") from None
        if self.fsync:
            self._fsync_folder(target.parent)

    @staticmethod
    def _discard(temp: str) -> None:
        # Synchronous on purpose: it also runs when the task is being cancelled, where
        # awaiting a thread is not reliable; unlinking does not block long.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)

    def _write_all(self, key: str, data: bytes) -> None:
        target = self._path(key)
        fd, temp = self._open_temp(key, target)
        try:
            try:
                self._write(fd, data)
            finally:
                self._close(fd)
            self._replace(key, temp, target)
        except BaseException:
            self._discard(temp)
            raise

    @staticmethod
    def _fsync_folder(folder: str | Path) -> None:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    async def put_bytes(
        self, key: str, data: bytes, *, content_type: str = "application/octet-stream"
    ) -> None:
        await asyncio.to_thread(self._write_all, key, data)

    async def put_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        # One thread hop for the lot: a burst of small files (Job Contexts) costs the
        # event loop one hand-off, not one per file.
        def write_each() -> None:
            for key, data in items:
                self._write_all(key, data)

        await asyncio.to_thread(write_each)

    async def put_stream(
        self,
        key: str,
        chunks: AsyncIterable[bytes],
        size: int | None = None,
        *,
        content_type: str = "application/octet-stream",
    ) -> None:
        target = await asyncio.to_thread(self._path, key)
        fd, temp = await asyncio.to_thread(self._open_temp, key, target)
        try:
            total = 0
            # Small chunks are gathered so that a thread hop moves about CHUNK_SIZE bytes.
            pending = bytearray()
            async for chunk in chunks:
                total += len(chunk)
                if size is not None and total > size:
                    raise ValidationError(f"stream for {key!r} is longer than {size} bytes")
                pending += chunk
                if len(pending) >= CHUNK_SIZE:
                    await asyncio.to_thread(self._write, fd, pending)
                    pending = bytearray()
            if size is not None and total != size:
                raise ValidationError(f"stream for {key!r} has {total} bytes, not {size}")
            if pending:
                await asyncio.to_thread(self._write, fd, pending)
            del pending
        except BaseException:
            os.close(fd)
            self._discard(temp)
            raise
        try:
            await asyncio.to_thread(self._close, fd)
            await asyncio.to_thread(self._replace, key, temp, target)
        except BaseException:
            self._discard(temp)
            raise

    # -- reads ----------------------------------------------------------------------
    def _open_read(self, key: str) -> BinaryIO:
        target = self._path(key)
        try:
            # The target is resolved already; O_NOFOLLOW catches a symlink swapped in since.
            fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW)
        except (FileNotFoundError, NotADirectoryError):
            raise NotFoundError(f"no object at {key!r}") from None
        except OSError as exc:
            raise ValidationError(f"object key {key!r} cannot be read: {exc.strerror}") from None
        if not stat_mode.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise NotFoundError(f"no object at {key!r}")
        return os.fdopen(fd, "rb")

    def _read_all(self, key: str) -> bytes:
        with self._open_read(key) as file:
            return file.read()

    async def get_bytes(self, key: str) -> bytes:
        return await asyncio.to_thread(self._read_all, key)

    async def open_stream(self, key: str) -> AsyncGenerator[bytes, None]:
        file = await asyncio.to_thread(self._open_read, key)
        try:
            while chunk := await asyncio.to_thread(file.read, CHUNK_SIZE):
                yield chunk
        finally:
            file.close()

    def _stat(self, key: str) -> ObjectInfo | None:
        try:
            info = os.stat(self._path(key))
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not stat_mode.S_ISREG(info.st_mode):
            return None
        return ObjectInfo(key, info.st_size, datetime.fromtimestamp(info.st_mtime, tz=UTC))

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._stat, key) is not None

    async def stat(self, key: str) -> ObjectInfo:
        info = await asyncio.to_thread(self._stat, key)
        if info is None:
            raise NotFoundError(f"no object at {key!r}")
        return info

    def _delete(self, key: str) -> None:
        # A folder is not an object: unlink refuses it, and that is "nothing there".
        with contextlib.suppress(FileNotFoundError, NotADirectoryError, IsADirectoryError):
            self._path(key).unlink()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._delete, key)

    def _list(self, prefix: str) -> builtins.list[ObjectInfo]:
        check_prefix(prefix)
        root = self._resolved_root()
        folder_key, _, start = prefix.rpartition("/")
        folder = Path(os.path.realpath(root / folder_key)) if folder_key else root
        if folder != root and not folder.is_relative_to(root):
            raise ValidationError(f"prefix {prefix!r} leads outside the storage", field="prefix")
        found: builtins.list[ObjectInfo] = []
        # (folder on disk, its key with a trailing "/", first-level name filter)
        todo = [(folder, f"{folder_key}/" if folder_key else "", start)]
        while todo:
            path, base, name_start = todo.pop()
            try:
                entries = list(os.scandir(path))
            except (FileNotFoundError, NotADirectoryError):
                continue
            for entry in entries:
                if not entry.name.startswith(name_start) or entry.name.startswith(RESERVED_PREFIX):
                    continue
                # Symlinks are never followed: they could lead out of the root.
                if entry.is_dir(follow_symlinks=False):
                    todo.append((Path(entry.path), f"{base}{entry.name}/", ""))
                elif entry.is_file(follow_symlinks=False):
                    info = entry.stat(follow_symlinks=False)
                    modified = datetime.fromtimestamp(info.st_mtime, tz=UTC)
                    found.append(ObjectInfo(base + entry.name, info.st_size, modified))
        found.sort(key=lambda item: item.key)
        return found

    async def list(self, prefix: str = "") -> builtins.list[ObjectInfo]:
        return await asyncio.to_thread(self._list, prefix)

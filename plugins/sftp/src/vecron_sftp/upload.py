"""Upload: execution files matching a name or pattern, streamed to a remote folder.

Each file is written to a hidden temporary name beside its target
(``.<name>.vecron-<random>.part``) and renamed when complete, so whoever watches the
folder never sees half a file. A failed or cancelled upload removes its temporary file.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import posixpath
import secrets
from contextlib import aclosing
from typing import Any

import asyncssh

from vecron import ExecutionFiles, FinalError, StoredFile, ValidationError

from .config import SftpConfig
from .failures import remote_errors
from .output import file_entry
from .parallel import TRANSFERS, map_bounded
from .paths import MAGIC, literal_base, relative_to, resolve
from .remote import Remote
from .streams import write_behind

#: Seconds allowed to remove a temporary file after a failure.
CLEANUP_TIMEOUT = 5.0
#: Bytes of a file's name kept in its temporary name (names are limited to 255 bytes).
TEMP_NAME_KEEP = 100


async def matching_files(cfg: SftpConfig, files: ExecutionFiles) -> list[str]:
    """Names of the execution's files that ``files`` (a name or fnmatch pattern) matches.

    :raises FinalError: fewer than ``min_files`` match, or the pattern is not a safe name.
    """
    assert cfg.files is not None
    pattern = cfg.files
    # Only files whose names start with the pattern's literal head can match it.
    head = pattern[: min((pattern.find(c) for c in MAGIC if c in pattern), default=len(pattern))]
    try:
        names = await files.names(head)
    except ValidationError as exc:
        raise FinalError(
            f"files: {pattern!r} cannot name an execution file: {exc.message}"
        ) from None
    found = [name for name in names if fnmatch.fnmatchcase(name, pattern)]
    if len(found) < cfg.min_files:
        raise FinalError(
            f"files: no execution file matches {pattern!r}"
            if not found
            else f"files: {len(found)} file(s) match {pattern!r}, min_files is {cfg.min_files}"
        )
    return found


def temporary_name(path: str) -> str:
    """A hidden, unique name beside ``path`` (``.<name>.vecron-<random>.part``)."""
    folder, name = posixpath.split(path)
    # Cut in bytes, as the 255-byte limit counts them, without splitting a character.
    kept = name.encode()[:TEMP_NAME_KEEP].decode("utf-8", "ignore")
    return posixpath.join(folder, f".{kept}.vecron-{secrets.token_hex(6)}.part")


class Uploader:
    """Uploads of one step: remote folders are created and checked once each."""

    def __init__(self, remote: Remote, cfg: SftpConfig, files: ExecutionFiles) -> None:
        self.remote = remote
        self.cfg = cfg
        self.files = files
        self.folders: dict[str, str] = {}

    async def folder(self, path: str) -> str:
        """The real path of remote folder ``path``, created with its parents if missing.

        :raises FinalError: it resolves outside the root, or a part of it is a file.
        """
        real = self.folders.get(path)
        if real is None:
            with remote_errors(self.remote.where, f"create folder {path!r}"):
                try:
                    await self.remote.sftp.makedirs(path, exist_ok=True)
                except asyncssh.SFTPFailure as exc:
                    # asyncssh's own words (SFTPv3 has no status for it) when a part of
                    # the path is a file: no other attempt will change that.
                    if exc.reason.endswith("is not a directory"):
                        raise FinalError(f"{self.remote.where}: {exc.reason}") from None
                    raise
            found = await self.remote.real_path(path)
            if found is None:
                raise FinalError(f"{self.remote.where}: folder {path!r} vanished after creation")
            real = self.folders[path] = found
        return real

    async def upload(self, name: str, remote_path: str) -> dict[str, Any]:
        """Stream execution file ``name`` to ``remote_path``; its output entry."""
        sftp, where = self.remote.sftp, self.remote.where
        folder = await self.folder(posixpath.dirname(remote_path))
        target = posixpath.join(folder, posixpath.basename(remote_path))
        if not self.cfg.overwrite:
            with remote_errors(where, f"check {remote_path!r}"):
                if await sftp.exists(target):
                    raise FinalError(f"{where}: {remote_path!r} exists and overwrite is false")
        temporary = temporary_name(target)
        try:
            with remote_errors(where, f"upload {remote_path!r}"):
                async with sftp.open(temporary, "xb", encoding=None) as sink:
                    async with aclosing(self.files.read(name)) as chunks:
                        size, sha256 = await write_behind(sink, chunks)
                    attrs = await sink.stat()
            await self.replace(temporary, target, remote_path)
        except BaseException:
            await self.discard(temporary)
            raise
        stored = StoredFile(name, self.files.key(name), size, sha256)
        return file_entry(stored, remote_path, attrs)

    async def replace(self, temporary: str, target: str, remote_path: str) -> None:
        sftp, where = self.remote.sftp, self.remote.where
        with remote_errors(where, f"rename into {remote_path!r}"):
            if not self.cfg.overwrite:
                # SFTP's plain rename refuses an existing target: no race with a writer.
                await sftp.rename(temporary, target)
                return
            try:
                await sftp.posix_rename(temporary, target)  # atomic replace (OpenSSH)
            except asyncssh.SFTPOpUnsupported:
                with contextlib.suppress(asyncssh.SFTPNoSuchFile):
                    await sftp.remove(target)
                await sftp.rename(temporary, target)
            except asyncssh.SFTPFailure:
                # OpenSSH says only "Failure"; a folder in the way is worth naming.
                if await sftp.isdir(target):
                    raise FinalError(f"{where}: {remote_path!r} is a folder") from None
                raise

    async def discard(self, temporary: str) -> None:
        # Best effort: the connection may be what failed. Runs on cancellation too.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.remote.sftp.remove(temporary), CLEANUP_TIMEOUT)


async def upload_all(
    remote: Remote, cfg: SftpConfig, files: ExecutionFiles
) -> list[dict[str, Any]]:
    assert cfg.files is not None and cfg.remote_dir is not None
    remote_dir = resolve(cfg.root, cfg.remote_dir, "remote_dir")
    names = await matching_files(cfg, files)
    base = literal_base(cfg.files)
    uploader = Uploader(remote, cfg, files)
    targets = [(name, posixpath.join(remote_dir, relative_to(name, base))) for name in names]
    return await map_bounded(lambda target: uploader.upload(*target), targets, TRANSFERS)

"""Download: one file, a glob pattern or a folder tree, streamed into the execution's files.

First the plan: every matching file, its real path on the server (checked to lie under
the server's real root, so no symbolic link leads out of it) and its storage name
(checked by :meth:`ExecutionFiles.key`). Nothing is transferred unless the whole plan is
sound. Then each file is streamed in chunks of at most 1 MiB: memory does not grow with
file size.
"""

from __future__ import annotations

import posixpath
from contextlib import aclosing
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

import asyncssh
from asyncssh import FILEXFER_TYPE_DIRECTORY as DIRECTORY
from asyncssh import FILEXFER_TYPE_REGULAR as REGULAR

from vecron import ExecutionFiles, FinalError, RetryableError, ValidationError

from .config import SftpConfig
from .failures import remote_errors
from .output import file_entry
from .parallel import LOOKUPS, TRANSFERS, map_bounded
from .paths import has_magic, literal_base, relative_to, resolve, storage_name
from .remote import MISSING, Remote
from .streams import read_ahead


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """One file to download: ``path`` as matched (shown), ``real`` as opened."""

    path: str
    real: str
    name: str


async def matches(remote: Remote, cfg: SftpConfig, full: str) -> list[asyncssh.SFTPName]:
    """What ``full`` (a glob pattern or one path) names, as matched; [] for nothing."""
    try:
        if not has_magic(full):
            with remote_errors(remote.where, f"stat {cfg.remote!r}"):
                return [asyncssh.SFTPName(full, attrs=await remote.sftp.lstat(full))]
        with remote_errors(remote.where, f"match {cfg.remote!r}"):
            found = await remote.sftp.glob_sftpname(full)
    except FinalError as exc:
        if isinstance(exc.__cause__, MISSING):  # also asyncssh's "No matches found"
            return []
        raise
    return sorted(found, key=lambda name: cast(str, name.filename))


async def plan(remote: Remote, cfg: SftpConfig, files: ExecutionFiles) -> list[RemoteFile]:
    """Every file to download, checked; nothing has been transferred yet.

    :raises FinalError: a path leads outside the root, a name cannot be stored, the
        single path given is a folder without ``recursive``, or fewer files than
        ``min_files`` match.
    """
    assert cfg.remote is not None
    full = resolve(cfg.root, cfg.remote, "remote")
    single = not has_magic(full)
    # Names are relative to the pattern's literal folder, or to the folder named.
    base = posixpath.dirname(full) if single else literal_base(full)
    found: list[tuple[str, str]] = []
    checked = await map_bounded(remote.check, await matches(remote, cfg, full), LOOKUPS)
    for path, real, kind in checked:
        if kind == REGULAR:
            found.append((path, real))
        elif kind != DIRECTORY:
            continue  # gone, a device, a socket...
        elif cfg.recursive:
            base = full if single else base
            found += [item async for item in remote.walk(path, real)]
        elif single:
            raise FinalError(
                f"remote: {cfg.remote!r} is a folder; set recursive: true to download it"
            )
    # A file can be reached twice ("**" with recursive); it is fetched once.
    found = list(dict(found).items())
    if len(found) < cfg.min_files:
        raise FinalError(
            f"remote: no file matches {cfg.remote!r}"
            if not found
            else f"remote: {len(found)} file(s) match {cfg.remote!r}, min_files is {cfg.min_files}"
        )
    items = [
        RemoteFile(path, real, storage_name(files, cfg.into, relative_to(path, base), path))
        for path, real in found
    ]
    return sorted(items, key=lambda item: item.name)


async def download_file(remote: Remote, files: ExecutionFiles, item: RemoteFile) -> dict[str, Any]:
    """Stream one remote file into the execution's files; its output entry."""
    with remote_errors(remote.where, f"download {item.path!r}"):
        async with remote.sftp.open(item.real, "rb", encoding=None) as source:
            attrs = await source.stat()
            try:
                async with aclosing(read_ahead(source, attrs.size)) as chunks:
                    stored = await files.write(item.name, chunks, size=attrs.size)
            except ValidationError as exc:
                # The name was checked in the plan: this is the size changing under us.
                raise RetryableError(
                    f"{remote.where}: {item.path!r} changed while it was downloaded: {exc.message}"
                ) from exc
    return file_entry(stored, item.path, attrs)


async def download_all(
    remote: Remote, cfg: SftpConfig, files: ExecutionFiles
) -> list[dict[str, Any]]:
    """Plan, then download every file; the output entries in the plan's order."""
    items = await plan(remote, cfg, files)
    return await map_bounded(partial(download_file, remote, files), items, TRANSFERS)

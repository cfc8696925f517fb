"""The server side of a transfer: an SFTP client confined to the server's real root.

:func:`~vecron_sftp.paths.resolve` keeps configured paths under ``root`` as written;
this checks where the server resolves them (symbolic links followed), so no link leads
a transfer out of the root either.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

import asyncssh
from asyncssh import FILEXFER_TYPE_DIRECTORY as DIRECTORY
from asyncssh import FILEXFER_TYPE_REGULAR as REGULAR
from asyncssh import FILEXFER_TYPE_SYMLINK as SYMLINK

from vecron import FinalError

from .failures import remote_errors
from .paths import is_under

#: What the server answers for a path that is not there.
MISSING = (asyncssh.SFTPNoSuchFile, asyncssh.SFTPNoSuchPath)


class Remote:
    """The server side of one transfer: the SFTP client and the server's real root."""

    def __init__(self, sftp: asyncssh.SFTPClient, where: str, root: str, real_root: str) -> None:
        self.sftp = sftp
        self.where = where
        self.root = root
        self.real_root = real_root

    @classmethod
    async def open(cls, sftp: asyncssh.SFTPClient, where: str, root: str) -> Remote:
        """:raises FinalError: ``root`` is not a folder on the server."""
        with remote_errors(where, f"root {root!r}"):
            real_root = await sftp.realpath(root)
            # OpenSSH resolves a missing last part without complaint.
            if not await sftp.isdir(real_root):
                raise FinalError(f"{where}: root {root!r} is not a folder on the server")
        return cls(sftp, where, root, real_root)

    async def real_path(self, path: str) -> str | None:
        """Where ``path`` leads on the server, symbolic links resolved; None: nowhere
        (a dangling link, or removed meanwhile).

        :raises FinalError: it leads outside the root.
        """
        try:
            with remote_errors(self.where, f"resolve {path!r}"):
                real = await self.sftp.realpath(path)
        except FinalError as exc:
            if isinstance(exc.__cause__, MISSING):
                return None
            raise
        if not is_under(real, self.real_root):
            raise FinalError(f"{self.where}: {path!r} leads outside root {self.root!r}")
        return real

    async def check(self, match: asyncssh.SFTPName) -> tuple[str, str, int | None]:
        """``(path, real path, file type)`` of a matched name (type None: nothing there).

        :raises FinalError: it leads outside the root.
        """
        path = cast(str, match.filename)
        real = await self.real_path(path)
        if real is None:
            return path, path, None
        if real == path and match.attrs.type in (REGULAR, DIRECTORY):
            # No link on the way, so the type listed is the type of the file itself.
            return path, real, match.attrs.type
        return path, real, await self.kind(real)

    async def kind(self, path: str) -> int | None:
        """The file type at ``path`` (links followed); None when nothing is there."""
        try:
            with remote_errors(self.where, f"stat {path!r}"):
                return (await self.sftp.stat(path)).type
        except FinalError as exc:
            if isinstance(exc.__cause__, MISSING):
                return None
            raise

    async def entries(self, folder: str) -> list[asyncssh.SFTPName]:
        """The folder's entries but ``.`` and ``..``, by name; types are not followed."""
        with remote_errors(self.where, f"list {folder!r}"):
            found = [entry async for entry in self.sftp.scandir(folder)]
        entries = []
        for entry in found:
            name = cast(str, entry.filename)
            if name in (".", ".."):
                continue
            if "/" in name or not name:
                raise FinalError(f"{self.where}: the server listed a bad name {name!r}")
            entries.append(entry)
        return sorted(entries, key=lambda entry: cast(str, entry.filename))

    async def walk(self, path: str, real: str) -> AsyncIterator[tuple[str, str]]:
        """``(path, real path)`` of every regular file below folder ``real``.

        Folders are entered unless they are symbolic links (no loops, no escapes); a
        symbolic link to a file is followed when its target lies under the root.
        """
        todo = [(path, real)]
        while todo:
            path, real = todo.pop()
            subfolders = []
            for entry in await self.entries(real):
                name = cast(str, entry.filename)
                kind = entry.attrs.type
                child, child_real = f"{path.rstrip('/')}/{name}", f"{real.rstrip('/')}/{name}"
                if kind == SYMLINK:
                    target = await self.real_path(child_real)
                    if target is not None and await self.kind(target) == REGULAR:
                        yield child, target
                elif kind == DIRECTORY:
                    subfolders.append((child, child_real))
                elif kind == REGULAR:
                    yield child, child_real
            todo.extend(reversed(subfolders))

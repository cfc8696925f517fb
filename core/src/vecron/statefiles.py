"""vecron's own files: private to their owner, and out of every step's reach.

The SQLite database (with its ``-wal``, ``-shm`` and ``-journal`` companions), the
generated secret key and the file storage root hold every job's definitions and secrets.
They are created readable by their owner only — files 0600, folders 0700, whatever the
umask — and :meth:`StateFiles.holds` tells an executor that opens local paths (a SQLite
DSN, an ``ATTACH``) which of them it must refuse.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700
#: Files SQLite keeps beside a database, with the database's own permissions.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def make_private_folder(path: Path | str) -> None:
    """Create ``path`` and each missing folder above it, mode 0700. Folders that exist
    are left as they are: they may be shared with something else."""
    missing: list[str] = []
    folder = os.path.abspath(path)
    while not os.path.isdir(folder):
        missing.append(folder)
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, PRIVATE_FOLDER)
        except FileExistsError:
            if not os.path.isdir(folder):  # a file where a folder should be
                raise
            continue  # another process made it meanwhile
        # mkdir's mode is masked by the umask; 0700 is meant whatever the umask.
        os.chmod(folder, PRIVATE_FOLDER)


def create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (an empty file is an empty
    SQLite database); warn if an existing one is readable by others."""
    make_private_folder(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if os.name == "posix" and mode & 0o077:
            log.warning("vecron's database is readable by others; chmod 600 it", path=str(path))
    else:
        os.chmod(path, PRIVATE_FILE)


@dataclass(frozen=True, slots=True)
class StateFiles:
    """The files and folder trees of vecron's own state (absolute paths)."""

    files: tuple[Path, ...] = ()
    folders: tuple[Path, ...] = ()

    def holds(self, path: str | os.PathLike[str]) -> bool:
        """Is ``path`` (relative to the working directory) one of these files, or inside
        one of these folders — through symlinks, ``..`` or a hard link included?"""
        if not self.files and not self.folders:
            return False
        real = os.path.realpath(path)
        for file in self.files:
            if real == os.path.realpath(file):
                return True
        for folder in self.folders:
            root = os.path.realpath(folder)
            if real == root or real.startswith(os.path.join(root, "")):
                return True
        # Another name for the same file or folder (a hard link, a bind mount).
        seen = _identity(real)
        if seen is None:
            return False
        if any(_identity(file) == seen for file in self.files):
            return True
        roots = {_identity(folder) for folder in self.folders} - {None}
        return any(_identity(above) in roots for above in _ancestors(real))


def _identity(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except (OSError, ValueError):
        return None
    return found.st_dev, found.st_ino


def _ancestors(path: str) -> Iterator[str]:
    while True:
        yield path
        parent = os.path.dirname(path)
        if parent == path:
            return
        path = parent

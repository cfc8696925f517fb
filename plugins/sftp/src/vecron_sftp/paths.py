"""Remote paths confined to the configured root, and the storage names files get.

Job fields may come from templates (a webhook's payload, an earlier step's output), so
every remote path is resolved lexically under ``root`` and must stay there; what the
server resolves (symbolic links) is checked again against the server's real root by the
transfer code. Every storage name goes through :meth:`ExecutionFiles.key`.
"""

from __future__ import annotations

import posixpath

from vecron import ExecutionFiles, FinalError, ValidationError

#: Characters that make a path segment a glob pattern (as asyncssh's glob sees it).
MAGIC = frozenset("*?[")


def has_magic(path: str) -> bool:
    return any(char in MAGIC for char in path)


def is_under(path: str, root: str) -> bool:
    """Whether absolute, normalised ``path`` is ``root`` or inside it."""
    return root == "/" or path == root or path.startswith(root + "/")


def resolve(root: str, path: str, field: str) -> str:
    """``path`` (relative to ``root``, or absolute) as a normalised absolute path.

    :raises FinalError: the path leads outside ``root`` (names ``field``).
    """
    # normpath keeps a leading "//" (POSIX allows it), which would defeat is_under.
    full = "/" + posixpath.normpath(posixpath.join(root, path)).lstrip("/")
    if not is_under(full, root):
        raise FinalError(f"{field}: {path!r} leads outside root {root!r}")
    return full


def literal_base(pattern: str) -> str:
    """The folder part of ``pattern`` before its first wildcard segment.

    ``/in/*/a.csv`` gives ``/in``, ``/in/a.csv`` gives ``/in``, ``*.csv`` gives ``""``.
    """
    parts = pattern.split("/")
    for index, part in enumerate(parts):
        if has_magic(part):
            head = "/".join(parts[:index])
            return head or ("/" if pattern.startswith("/") else "")
    return posixpath.dirname(pattern)


def relative_to(path: str, base: str) -> str:
    """``path`` relative to folder ``base`` (``path`` is inside it)."""
    if not base:
        return path
    return posixpath.relpath(path, base) if base.startswith("/") else path[len(base) + 1 :]


def storage_name(files: ExecutionFiles, into: str, relative: str, remote_path: str) -> str:
    """The execution-file name of a downloaded file, checked to stay in the execution.

    :raises FinalError: the remote name cannot be a safe storage name.
    """
    name = f"{into}/{relative}" if into else relative
    try:
        files.key(name)
    except ValidationError as exc:
        raise FinalError(
            f"remote file {remote_path!r} cannot be stored as {name!r}: {exc.message}"
        ) from None
    return name

"""What an ``sftp`` step puts in the Job Context: the files moved, bounded in number."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncssh

from vecron import StoredFile

#: At most this many file entries in the output; ``count`` and ``bytes`` cover all.
MAX_LISTED = 1000


def modified(attrs: asyncssh.SFTPAttrs) -> str | None:
    """The remote modification time as ISO 8601 UTC, None when the server sends none."""
    if attrs.mtime is None:
        return None
    return datetime.fromtimestamp(attrs.mtime, tz=UTC).isoformat()


def file_entry(stored: StoredFile, remote_path: str, attrs: asyncssh.SFTPAttrs) -> dict[str, Any]:
    return stored.as_output(remote_path=remote_path, modified=modified(attrs))


def summary(action: str, entries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {
        "action": action,
        "files": list(entries[:MAX_LISTED]),
        "count": len(entries),
        "bytes": sum(entry["size"] for entry in entries),
        "truncated": len(entries) > MAX_LISTED,
    }

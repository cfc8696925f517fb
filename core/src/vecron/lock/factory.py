"""Pick a lock backend by URL scheme."""

from __future__ import annotations

from ..errors import ConfigurationError
from .base import Lock


def open_lock(url: str) -> Lock:
    if url.split("://", 1)[0] == "local":
        from .local import LocalLock

        return LocalLock(url)
    raise ConfigurationError(f"unsupported lock URL {url!r}", hint="use local://")

"""Pick a lock backend by URL scheme."""

from __future__ import annotations

from vecron.errors import ConfigurationError
from vecron.lock.base import Lock
from vecron.urls import redact_url


def open_lock(url: str) -> Lock:
    scheme = url.split("://", 1)[0]
    if scheme == "local":
        from vecron.lock.local import LocalLock

        return LocalLock(url)
    if scheme in ("redis", "rediss"):
        from vecron.lock.redis import RedisLock

        return RedisLock(url)
    raise ConfigurationError(
        f"unsupported lock URL {redact_url(url)!r}", hint="use local:// or redis://"
    )

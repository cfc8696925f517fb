"""``local://``: leases inside one process."""

from __future__ import annotations

import time

from vecron.lock.base import Lock


class LocalLock(Lock):
    def __init__(self, url: str = "local://") -> None:
        self.url = url
        self._held: dict[str, tuple[str, float]] = {}

    async def acquire(self, name: str, owner: str, ttl: float) -> bool:
        now = time.monotonic()
        holder = self._held.get(name)
        if holder is None or holder[0] == owner or holder[1] <= now:
            self._held[name] = (owner, now + ttl)
            return True
        return False

    async def release(self, name: str, owner: str) -> None:
        if self._held.get(name, ("", 0.0))[0] == owner:
            del self._held[name]

"""The lock contract: a named lease with a TTL, held by one owner at a time.

A lock is for efficiency only (one scheduler does the work); correctness never depends
on it, because the store rejects duplicate fire times.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod


class Lock(metaclass=ABCMeta):
    url: str

    async def start(self) -> None:  # noqa: B027
        """Connect."""

    async def close(self) -> None:  # noqa: B027
        """Disconnect."""

    async def ping(self) -> None:  # noqa: B027
        """Raise :class:`~vecron.errors.BackendUnavailable` when the backend cannot be
        reached (for ``/readyz``); in-process locks are always reachable."""

    @abstractmethod
    async def acquire(self, name: str, owner: str, ttl: float) -> bool:
        """Take ``name`` for ``ttl`` seconds if free or expired, or extend it if ``owner``
        already holds it. True when ``owner`` holds it afterwards."""

    @abstractmethod
    async def release(self, name: str, owner: str) -> None:
        """Give it up if ``owner`` holds it."""

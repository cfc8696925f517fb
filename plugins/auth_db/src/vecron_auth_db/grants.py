"""What each user's access tokens grant, as last read from the database, for a few seconds.

Reading the user again on every request was a fifth of what an API request cost. The
backend now keeps each user's record and permissions for ``user_cache_seconds``: any
change made through this process's user and role services forgets them all at once
(:class:`ForgettingDatabase`), so there a disabled or deleted user, a new password or a
changed role is refused on the very next request. A change made by another process (the
CLI, another API process) reaches this one within ``user_cache_seconds``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from vecron import Database, Permission

from .records import UserRecord

#: Users kept at most; past it the cache starts over (a flood of tokens of many users
#: must not grow the process).
MAX_USERS = 10_000


@dataclass(frozen=True, slots=True)
class Grant:
    """A user as read, with the permissions its roles gave at that moment."""

    user: UserRecord
    permissions: frozenset[Permission]
    read_at: float


class Grants:
    """Grants by user id, each good for ``seconds`` after it was read (0: never kept)."""

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._by_user: dict[str, Grant] = {}
        #: Counts the forgets: a read that began before one must not be kept after it.
        self.epoch = 0

    def get(self, user_id: str) -> Grant | None:
        found = self._by_user.get(user_id)
        if found is None or self._clock() - found.read_at >= self.seconds:
            return None
        return found

    def keep(self, user: UserRecord, permissions: frozenset[Permission], *, read_in: int) -> Grant:
        """Keep what was read in epoch ``read_in`` (:attr:`epoch` before the read),
        unless a change came in the meantime."""
        grant = Grant(user=user, permissions=permissions, read_at=self._clock())
        if self.seconds > 0 and read_in == self.epoch:
            if len(self._by_user) >= MAX_USERS:
                self._by_user.clear()
            self._by_user[user.id] = grant
        return grant

    def forget(self) -> None:
        self.epoch += 1
        self._by_user.clear()


class ForgettingDatabase:
    """The database as the user and role services write it: every transaction they
    commit (or try) makes ``grants`` forget, so no request after a change sees the user
    as it was."""

    def __init__(self, database: Database, grants: Grants) -> None:
        self._database = database
        self._grants = grants

    def connect(self) -> AbstractAsyncContextManager[AsyncConnection]:
        return self._database.connect()

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self._database.begin() as conn:
                yield conn
        finally:
            self._grants.forget()

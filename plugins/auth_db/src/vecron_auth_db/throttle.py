"""Login throttling and the refresh rate limit.

The counts live in this process's memory: each API process counts on its own (with N
processes an attacker gets N times the attempts) and a restart forgets them. That is
accepted: the limit's job is to make online guessing slow, which it does in every
process, and argon2id makes each guess costly anyway. At most ``max_keys`` names and
addresses are tracked; beyond that the least recently seen are forgotten, so a flood
of made-up names cannot exhaust memory.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from vecron import TooManyRequests

Clock = Callable[[], datetime]
MAX_KEYS = 100_000


@dataclass(slots=True)
class _Track:
    times: deque[datetime] = field(default_factory=deque)
    locked_until: datetime | None = None


class _Windows:
    """Recent event times per key, within ``window``, for at most ``max_keys`` keys."""

    def __init__(self, window: timedelta, clock: Clock, max_keys: int) -> None:
        self.window = window
        self.clock = clock
        self._tracks: OrderedDict[str, _Track] = OrderedDict()
        self._max_keys = max_keys

    def track(self, key: str, now: datetime) -> _Track:
        found = self._tracks.get(key)
        if found is None:
            found = self._tracks[key] = _Track()
            while len(self._tracks) > self._max_keys:
                self._tracks.popitem(last=False)
        else:
            self._tracks.move_to_end(key)
        while found.times and found.times[0] <= now - self.window:
            found.times.popleft()
        return found

    def forget(self, key: str) -> None:
        self._tracks.pop(key, None)


class LoginThrottle:
    """After ``max_failures`` failed logins within ``window`` for one key (a user name,
    a client address), further attempts for that key answer 429 for ``lockout``; then
    the key starts afresh, so the real user is never locked out for good."""

    def __init__(
        self,
        *,
        max_failures: int,
        window: timedelta,
        lockout: timedelta,
        clock: Clock,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.max_failures = max_failures
        self.lockout = lockout
        self._windows = _Windows(window, clock, max_keys)

    def check(self, keys: Iterable[str]) -> None:
        """:raises TooManyRequests: one of ``keys`` is locked out (``retry_after`` says
        for how many more seconds)."""
        now = self._windows.clock()
        waits = []
        for key in keys:
            track = self._windows.track(key, now)
            if track.locked_until is not None:
                if track.locked_until > now:
                    waits.append((track.locked_until - now).total_seconds())
                else:
                    track.locked_until = None
        if waits:
            raise TooManyRequests("too many failed logins; try again later", retry_after=max(waits))

    def failed(self, keys: Iterable[str]) -> None:
        now = self._windows.clock()
        for key in keys:
            track = self._windows.track(key, now)
            track.times.append(now)
            if len(track.times) >= self.max_failures:
                track.locked_until = now + self.lockout
                track.times.clear()

    def succeeded(self, key: str) -> None:
        """A login of this user worked: its earlier failures no longer count."""
        self._windows.forget(key)


class RateLimit:
    """At most ``limit`` events per key within ``window``."""

    def __init__(
        self, *, limit: int, window: timedelta, clock: Clock, max_keys: int = MAX_KEYS
    ) -> None:
        self.limit = limit
        self._windows = _Windows(window, clock, max_keys)

    def hit(self, key: str, what: str) -> None:
        """Count one event for ``key``.

        :raises TooManyRequests: ``limit`` events already happened within the window.
        """
        now = self._windows.clock()
        track = self._windows.track(key, now)
        if len(track.times) >= self.limit:
            wait = track.times[0] + self._windows.window - now
            raise TooManyRequests(
                f"too many {what}; try again later", retry_after=wait.total_seconds()
            )
        track.times.append(now)

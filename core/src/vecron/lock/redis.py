"""``redis://host:port/db[?prefix=vecron]``: a lease in one Redis, shared by every process.

The lock is for efficiency only (research/reliability.md §1.4): a single Redis node, no
Redlock. Correctness comes from the leader epoch in the database, so a lock that is lost
through a Redis failover or a paused holder costs a little duplicated work, never a
duplicated run.

Keys are ``<prefix>:lock:<name>``; the value is the owner. Acquiring and releasing
compare the owner inside Lua scripts, so one owner can never extend or delete another
owner's lease.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from vecron.errors import BackendUnavailable, ConfigurationError
from vecron.lock.base import Lock
from vecron.urls import redact_url

if TYPE_CHECKING:
    from redis.asyncio import Redis

DEFAULT_PREFIX = "vecron"

# Take the lease when free, or extend it when ``owner`` already holds it; 1 = held.
ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

# Delete the lease only when ``owner`` holds it: a late release after expiry must not
# free a lease another owner has taken since.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisLink:
    """A Redis client and the key prefix, opened from a URL or borrowed from the caller.

    ``client_or_url`` is either a ``redis.asyncio.Redis`` (the caller keeps owning it;
    :meth:`close` leaves it open) or a ``redis://`` / ``rediss://`` URL whose optional
    ``prefix`` query parameter names the key namespace (default ``vecron``). A client
    opened here is closed by :meth:`close`. No connection is made until the first
    command.
    """

    def __init__(self, client_or_url: Redis | str, *, prefix: str | None = None) -> None:
        if isinstance(client_or_url, str):
            url, url_prefix = split_prefix(client_or_url)
            self.client: Redis = open_client(url)
            self.url = redact_url(client_or_url)
            self.owned = True
        else:
            url_prefix = None
            self.client = client_or_url
            self.url = "redis://(client)"
            self.owned = False
        self.prefix = prefix or url_prefix or DEFAULT_PREFIX

    def key(self, kind: str, name: str) -> str:
        return f"{self.prefix}:{kind}:{name}"

    @contextmanager
    def reaching(self) -> Iterator[None]:
        """Turn "Redis is unreachable" into :class:`BackendUnavailable`."""
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import ReadOnlyError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        try:
            yield
        # A replica that has not been promoted yet answers READONLY: for callers it is
        # the same as an unreachable primary.
        except (RedisConnectionError, RedisTimeoutError, ReadOnlyError, OSError) as exc:
            raise BackendUnavailable(
                f"Redis at {self.url} is unavailable: {type(exc).__name__}: {exc}",
                hint="start redis-server or check the lock URL",
            ) from exc

    async def ping(self) -> None:
        with self.reaching():
            # redis-py types ping() for its sync and async clients at once.
            await cast("Awaitable[bool]", self.client.ping())

    async def close(self) -> None:
        if self.owned:
            await self.client.aclose()


def split_prefix(url: str) -> tuple[str, str | None]:
    """Remove vecron's own ``prefix`` query parameter, which redis-py would reject."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefixes = [value for key, value in query if key == "prefix"]
    rest = [(key, value) for key, value in query if key != "prefix"]
    return urlunsplit(parts._replace(query=urlencode(rest))), (prefixes[-1] if prefixes else None)


def open_client(url: str) -> Redis:
    try:
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import ExponentialWithJitterBackoff
    except ImportError as exc:
        raise ConfigurationError(
            "the redis:// backends need the redis package", hint="install vecron-core[redis]"
        ) from exc
    options: dict[str, Any] = {
        # A leader renewing its lease must learn quickly that Redis is gone; redis-py's
        # default retries back off for up to 10 s, longer than a typical lock TTL.
        "socket_connect_timeout": 2.0,
        "socket_timeout": 2.0,
        "retry": Retry(ExponentialWithJitterBackoff(cap=0.5, base=0.05), 2),
    }
    try:
        # Query parameters in the URL win over these defaults.
        return Redis.from_url(url, **options)
    except ValueError as exc:
        raise ConfigurationError(f"bad Redis URL {redact_url(url)!r}: {exc}") from exc


class RedisLock(Lock):
    """Leases in Redis. ``acquire`` and ``release`` raise :class:`BackendUnavailable`
    when Redis cannot be reached; a scheduler treats that as "not the leader"."""

    def __init__(
        self,
        client_or_url: Redis | str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str | None = None,
    ) -> None:
        self.link = RedisLink(client_or_url, prefix=prefix)
        self.url = self.link.url
        self._acquire = self.link.client.register_script(ACQUIRE)
        self._release = self.link.client.register_script(RELEASE)

    async def ping(self) -> None:
        await self.link.ping()

    async def close(self) -> None:
        await self.link.close()

    async def acquire(self, name: str, owner: str, ttl: float) -> bool:
        ttl_ms = max(1, round(ttl * 1000))
        with self.link.reaching():
            held = await self._acquire(keys=[self.link.key("lock", name)], args=[owner, ttl_ms])
        return bool(held)

    async def release(self, name: str, owner: str) -> None:
        with self.link.reaching():
            await self._release(keys=[self.link.key("lock", name)], args=[owner])

"""Per-job rate limits: token buckets, and the deliveries already answered.

A job's bucket holds up to ``burst`` tokens and refills at ``rate`` per second; each
accepted delivery takes one. With the embedded default the buckets live in this
process (:class:`MemoryLimits`); when the lock backend is Redis (distributed mode) they
live in Redis (:class:`RedisLimits`) and every change is one Lua script timed by the
Redis server's clock, so all API processes share one limit and none can take a token
another took.

The same objects remember, for ten minutes, which execution each ``webhook-id`` of a job
started: a sender's retry is answered at once, without a token (research/reliability.md
section 2.2, step 6). The store's unique idempotency key stays the guarantee; this is
only the fast path.
"""

from __future__ import annotations

import hashlib
from abc import ABCMeta, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from vecron import BackendUnavailable, ConfigurationError

if TYPE_CHECKING:
    from redis.asyncio import Redis

#: Seconds a delivery's execution id is remembered (twice the signature's time window).
REMEMBER_SECONDS = 600
#: Jobs (buckets) and deliveries one process keeps; the least recently used go first.
MAX_KEYS = 100_000


class Limits(metaclass=ABCMeta):
    """Buckets and remembered deliveries of every job, keyed by job id."""

    @abstractmethod
    async def take(self, job_id: str, rate: float, burst: int) -> float | None:
        """Take one token of the job's bucket.

        :returns: None when it was taken, else the seconds until one is there.
        :raises BackendUnavailable: Redis does not answer.
        """

    @abstractmethod
    async def answered(self, job_id: str, delivery_id: str) -> str | None:
        """The execution an earlier delivery with this id started, if remembered."""

    @abstractmethod
    async def remember(self, job_id: str, delivery_id: str, execution_id: str) -> None:
        """Remember which execution a delivery started."""

    async def close(self) -> None:  # noqa: B027 - most limits hold no connection
        """Release connections; the default has none."""


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class MemoryLimits(Limits):
    """This process's buckets; ``clock`` gives seconds (monotonic by default)."""

    def __init__(self, clock: Callable[[], float], *, max_keys: int = MAX_KEYS) -> None:
        self.clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._answers: OrderedDict[tuple[str, str], tuple[str, float]] = OrderedDict()
        self._max_keys = max_keys

    async def take(self, job_id: str, rate: float, burst: int) -> float | None:
        now = self.clock()
        bucket = self._buckets.get(job_id)
        if bucket is None:
            bucket = self._buckets[job_id] = _Bucket(float(burst), now)
            _trim(self._buckets, self._max_keys)
        else:
            self._buckets.move_to_end(job_id)
        if now > bucket.at:
            bucket.tokens = min(float(burst), bucket.tokens + (now - bucket.at) * rate)
            bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return (1 - bucket.tokens) / rate

    async def answered(self, job_id: str, delivery_id: str) -> str | None:
        found = self._answers.get((job_id, delivery_id))
        if found is None or found[1] <= self.clock():
            return None
        return found[0]

    async def remember(self, job_id: str, delivery_id: str, execution_id: str) -> None:
        self._answers[(job_id, delivery_id)] = (execution_id, self.clock() + REMEMBER_SECONDS)
        self._answers.move_to_end((job_id, delivery_id))
        _trim(self._answers, self._max_keys)


def _trim(found: OrderedDict[Any, Any], most: int) -> None:
    while len(found) > most:
        found.popitem(last=False)


# KEYS[1]: the bucket. ARGV: rate, burst, now ('' = the Redis server's clock).
# Returns '' when a token was taken, else the seconds until one is there.
TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if now == nil then
  local time = redis.call('TIME')
  now = tonumber(time[1]) + tonumber(time[2]) / 1000000
end
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
if now > at then
  tokens = math.min(burst, tokens + (now - at) * rate)
  at = now
end
local wait = ''
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = tostring((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 60000)
return wait
"""


class RedisLimits(Limits):
    """Buckets in Redis at ``<prefix>:webhook:bucket:<job id>``, remembered deliveries at
    ``<prefix>:webhook:delivery:<job id>:<sha256 of the webhook-id>``. ``clock`` (seconds)
    replaces the Redis server's clock in tests."""

    def __init__(
        self, client: Redis, *, prefix: str, clock: Callable[[], float] | None = None
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.clock = clock
        self._take = client.register_script(TAKE)

    @classmethod
    def open(cls, url: str, *, clock: Callable[[], float] | None = None) -> RedisLimits:
        """Limits on the Redis of a ``redis://host:port/db[?prefix=vecron]`` lock URL."""
        try:
            from redis.asyncio import Redis
        except ImportError:
            raise ConfigurationError(
                "a redis:// lock URL needs the redis package for the webhook rate limit",
                hint="install vecron-trigger-webhook[redis]",
            ) from None
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        prefixes = [value for key, value in query if key == "prefix"]
        rest = urlencode([(key, value) for key, value in query if key != "prefix"])
        client = Redis.from_url(urlunsplit(parts._replace(query=rest)))
        return cls(client, prefix=prefixes[-1] if prefixes else "vecron", clock=clock)

    async def take(self, job_id: str, rate: float, burst: int) -> float | None:
        now = "" if self.clock is None else repr(self.clock())
        key = f"{self.prefix}:webhook:bucket:{job_id}"
        with _reaching():
            wait = await self._take(keys=[key], args=[repr(rate), burst, now])
        text = wait.decode() if isinstance(wait, bytes) else str(wait)
        return float(text) if text else None

    def _delivery_key(self, job_id: str, delivery_id: str) -> str:
        digest = hashlib.sha256(delivery_id.encode()).hexdigest()[:32]
        return f"{self.prefix}:webhook:delivery:{job_id}:{digest}"

    async def answered(self, job_id: str, delivery_id: str) -> str | None:
        with _reaching():
            found = await self.client.get(self._delivery_key(job_id, delivery_id))
        if found is None:
            return None
        return found.decode() if isinstance(found, bytes) else str(found)

    async def remember(self, job_id: str, delivery_id: str, execution_id: str) -> None:
        key = self._delivery_key(job_id, delivery_id)
        with _reaching():
            await self.client.set(key, execution_id, ex=REMEMBER_SECONDS)

    async def close(self) -> None:
        await cast(Any, self.client).aclose()


@contextmanager
def _reaching() -> Iterator[None]:
    """Redis unreachable: 503 (BackendUnavailable), never a 500."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    try:
        yield
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        raise BackendUnavailable(
            f"Redis does not answer for the webhook rate limit: {type(exc).__name__}",
            reason="rate-limit-unavailable",
        ) from exc


def open_limits(lock_url: str, clock: Callable[[], float]) -> Limits:
    """Redis buckets for a ``redis://``/``rediss://`` lock URL (distributed mode), else
    this process's."""
    if lock_url.startswith(("redis://", "rediss://")):
        return RedisLimits.open(lock_url)
    return MemoryLimits(clock)

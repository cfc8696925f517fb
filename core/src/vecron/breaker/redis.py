"""Circuits in Redis, shared by every worker (distributed mode).

One hash per target at ``<prefix>:breaker:<sha256 of the target>`` with the fields
``state``, ``failures`` and ``until``. The target is hashed because it may be a DSN, and
credentials do not belong in key names. Every transition runs in one Lua script, so two
workers can never both take the half-open probe, nor both count the same failure twice.
A healthy target has no key at all; others expire after a day without news.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from vecron.breaker.base import BreakerDecision, BreakerPolicy, BreakerState, CircuitState
from vecron.lock.redis import RedisLink

if TYPE_CHECKING:
    from redis.asyncio import Redis

# ARGV: now, probe_seconds, keep_ms. Returns {allowed 0|1, state, retry_after or ''}.
ALLOW = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state or state == 'closed' then
  return {1, 'closed', ''}
end
local now = tonumber(ARGV[1])
local untl = tonumber(redis.call('HGET', KEYS[1], 'until'))
if now < untl then
  return {0, state, tostring(untl - now)}
end
redis.call('HSET', KEYS[1], 'state', 'half_open', 'until', tostring(now + tonumber(ARGV[2])))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1, 'half_open', ''}
"""

# ARGV: ok 1|0, now, threshold, open_seconds, keep_ms. Returns the state afterwards.
RECORD = """
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state == 'open' then
  return state
end
if ARGV[1] == '1' then
  redis.call('DEL', KEYS[1])
  return 'closed'
end
if state == 'closed' then
  local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
  if failures < tonumber(ARGV[3]) then
    redis.call('HSET', KEYS[1], 'state', 'closed')
    redis.call('PEXPIRE', KEYS[1], ARGV[5])
    return 'closed'
  end
end
local untl = tostring(tonumber(ARGV[2]) + tonumber(ARGV[4]))
redis.call('HSET', KEYS[1], 'state', 'open', 'failures', 0, 'until', untl)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 'open'
"""

KEEP_SECONDS = 86_400.0


class RedisBreakerState(BreakerState):
    """Breaker state in Redis. ``client_or_url`` and ``prefix`` as for
    :class:`vecron.lock.redis.RedisLink`; raises :class:`~vecron.errors.BackendUnavailable`
    when Redis cannot be reached."""

    def __init__(
        self,
        client_or_url: Redis | str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str | None = None,
    ) -> None:
        self.link = RedisLink(client_or_url, prefix=prefix)
        self._allow = self.link.client.register_script(ALLOW)
        self._record = self.link.client.register_script(RECORD)

    async def close(self) -> None:
        await self.link.close()

    def key(self, target: str) -> str:
        return self.link.key("breaker", hashlib.sha256(target.encode()).hexdigest()[:32])

    async def allow(self, target: str, now: float, policy: BreakerPolicy) -> BreakerDecision:
        with self.link.reaching():
            allowed, state, retry_after = await self._allow(
                keys=[self.key(target)], args=[repr(now), repr(policy.probe_seconds), keep(policy)]
            )
        return BreakerDecision(
            allowed=bool(allowed),
            retry_after=float(retry_after) if retry_after else None,
            state=CircuitState(text(state)),
        )

    async def record(
        self, target: str, ok: bool, now: float, policy: BreakerPolicy
    ) -> CircuitState:
        args = [
            1 if ok else 0,
            repr(now),
            policy.threshold,
            repr(policy.open_seconds),
            keep(policy),
        ]
        with self.link.reaching():
            state = await self._record(keys=[self.key(target)], args=args)
        return CircuitState(text(state))


def keep(policy: BreakerPolicy) -> int:
    """Milliseconds a circuit lives without news: always longer than it can stay open."""
    seconds = max(KEEP_SECONDS, 2 * (policy.open_seconds + policy.probe_seconds))
    return round(seconds * 1000)


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value

"""Pick where breaker state lives from the lock URL: the same Redis the scheduler lock
uses holds the circuits shared by every worker."""

from __future__ import annotations

import time
from collections.abc import Callable

from vecron.breaker.base import BreakerState
from vecron.breaker.circuit import CircuitBreaker
from vecron.errors import ConfigurationError
from vecron.urls import redact_url


def open_breaker(
    lock_url: str,
    threshold: int = 5,
    open_seconds: float = 30.0,
    *,
    probe_seconds: float | None = None,
    clock: Callable[[], float] = time.time,
) -> CircuitBreaker:
    """``local://`` → state in this process; ``redis://host:port/db[?prefix=…]`` → state
    in Redis, shared by every worker using that URL."""
    scheme = lock_url.split("://", 1)[0]
    state: BreakerState
    if scheme == "local":
        from vecron.breaker.memory import MemoryBreakerState

        state = MemoryBreakerState()
    elif scheme in ("redis", "rediss"):
        from vecron.breaker.redis import RedisBreakerState

        state = RedisBreakerState(lock_url)
    else:
        raise ConfigurationError(
            f"unsupported lock URL {redact_url(lock_url)!r} for the breaker",
            hint="use local:// or redis://",
        )
    return CircuitBreaker(
        state,
        threshold=threshold,
        open_seconds=open_seconds,
        probe_seconds=probe_seconds,
        clock=clock,
    )

"""The circuit breaker a worker asks before calling a target (SPEC S5.3).

How a worker uses it::

    breaker = open_breaker(settings.lock_url)       # local:// → memory, redis:// → Redis
    await breaker.start()
    ...
    target = target_of(step.type, step.config)      # e.g. "https://api.example.com:443"
    if target is not None:
        decision = await breaker.allow(target)
        if not decision.allowed:
            # Do not call the target and do not spend an attempt: hand the execution
            # back to run again in ``decision.retry_after`` seconds.
            ...
    try:
        output = await executor.run(...)
    except StepError as exc:
        if target is not None:
            await breaker.record(target, ok=not exc.retryable)
        raise
    else:
        if target is not None:
            await breaker.record(target, ok=True)
    ...
    await breaker.close()

Rules of use:

- A target names what fails together (an HTTP scheme+host+port, a database host) and
  carries no credentials. Targets are compared as plain strings.
- Report every call :meth:`CircuitBreaker.allow` let through, above all the half-open
  probe: its outcome is what closes or re-opens the circuit. (A probe never reported is
  given up after ``probe_seconds`` and another caller probes.)
- Report ``ok=False`` only when the target looks unhealthy (refused, timed out, 5xx,
  429). A 4xx or any answer that proves the target is up counts as ``ok=True``.

The breaker only spares the target; it never decides whether a run happens. So when
the shared state in Redis is unreachable it lets every call through (and logs once),
instead of stopping all work because Redis is down.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType

from vecron.breaker.base import BreakerDecision, BreakerPolicy, BreakerState, CircuitState
from vecron.breaker.memory import MemoryBreakerState
from vecron.errors import BackendUnavailable
from vecron.telemetry import get_logger

log = get_logger("vecron.breaker")


class CircuitBreaker:
    """Breakers for many targets, one circuit per target, state in ``state``.

    ``clock`` returns seconds; every process sharing a Redis state must use the same
    kind (the default is wall time, so NTP-synced hosts agree; skew only moves the end
    of an open period by that much). Tests pass a fake clock.
    """

    def __init__(
        self,
        state: BreakerState | None = None,
        *,
        threshold: int = 5,
        open_seconds: float = 30.0,
        probe_seconds: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state = state if state is not None else MemoryBreakerState()
        self.policy = BreakerPolicy(
            threshold=threshold,
            open_seconds=open_seconds,
            probe_seconds=open_seconds if probe_seconds is None else probe_seconds,
        )
        self.clock = clock
        self._unreachable = False

    async def start(self) -> None:
        await self.state.start()

    async def close(self) -> None:
        await self.state.close()

    async def __aenter__(self) -> CircuitBreaker:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def allow(self, target: str) -> BreakerDecision:
        """May a call to ``target`` go now? Never raises for an unreachable state."""
        try:
            decision = await self.state.allow(target, self.clock(), self.policy)
        except BackendUnavailable as exc:
            self._lost(exc)
            return BreakerDecision(True, None, CircuitState.CLOSED)
        self._found()
        return decision

    async def record(self, target: str, ok: bool) -> CircuitState:
        """Report the outcome of a call :meth:`allow` let through; returns the circuit's
        state afterwards (closed while the state is unreachable: calls go through)."""
        try:
            state = await self.state.record(target, ok, self.clock(), self.policy)
        except BackendUnavailable as exc:
            self._lost(exc)
            return CircuitState.CLOSED
        self._found()
        return state

    def _lost(self, exc: BackendUnavailable) -> None:
        if not self._unreachable:
            self._unreachable = True
            log.warning("breaker state unreachable, letting calls through", error=exc.message)

    def _found(self) -> None:
        if self._unreachable:
            self._unreachable = False
            log.info("breaker state reachable again")

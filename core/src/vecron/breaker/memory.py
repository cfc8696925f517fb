"""Circuits in a dict, for the embedded mode (one process, one event loop).

Each method runs without awaiting, so on one event loop every transition is atomic.
"""

from __future__ import annotations

from dataclasses import dataclass

from vecron.breaker.base import BreakerDecision, BreakerPolicy, BreakerState, CircuitState


@dataclass(slots=True)
class Circuit:
    state: CircuitState = CircuitState.CLOSED
    failures: int = 0
    until: float = 0.0


class MemoryBreakerState(BreakerState):
    def __init__(self) -> None:
        # Only targets that failed lately have an entry; a healthy target costs nothing.
        self._circuits: dict[str, Circuit] = {}

    async def allow(self, target: str, now: float, policy: BreakerPolicy) -> BreakerDecision:
        circuit = self._circuits.get(target)
        if circuit is None or circuit.state is CircuitState.CLOSED:
            return BreakerDecision(True, None, CircuitState.CLOSED)
        if now < circuit.until:
            return BreakerDecision(False, circuit.until - now, circuit.state)
        circuit.state = CircuitState.HALF_OPEN
        circuit.until = now + policy.probe_seconds
        return BreakerDecision(True, None, CircuitState.HALF_OPEN)

    async def record(
        self, target: str, ok: bool, now: float, policy: BreakerPolicy
    ) -> CircuitState:
        circuit = self._circuits.get(target)
        if circuit is not None and circuit.state is CircuitState.OPEN:
            return circuit.state
        if ok:
            self._circuits.pop(target, None)
            return CircuitState.CLOSED
        if circuit is None:
            circuit = self._circuits[target] = Circuit()
        if circuit.state is CircuitState.CLOSED:
            circuit.failures += 1
            if circuit.failures < policy.threshold:
                return circuit.state
        circuit.state = CircuitState.OPEN
        circuit.failures = 0
        circuit.until = now + policy.open_seconds
        return circuit.state

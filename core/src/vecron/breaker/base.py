"""What a circuit breaker decides, and the contract of the place its state lives.

The transitions (SPEC S5.3) are the same for every backend:

- ``closed``: calls go through; ``threshold`` consecutive failures open the circuit.
- ``open``: calls are refused until ``open_seconds`` after it opened.
- ``half_open``: the first caller after that takes the one probe; everyone else is still
  refused. The probe's success closes the circuit, its failure opens it again. A probe
  that never reports back (its worker died) is given up after ``probe_seconds`` and the
  next caller probes instead, so a lost probe cannot block a target for ever.

Outcomes reported while the circuit is open come from calls allowed before it opened;
they change nothing.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from dataclasses import dataclass
from enum import StrEnum

from vecron.errors import ConfigurationError


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class BreakerDecision:
    """``allowed``: call the target now. Otherwise wait ``retry_after`` seconds (the rest
    of the open period, or of the running probe's lease) before asking again."""

    allowed: bool
    retry_after: float | None
    state: CircuitState


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    threshold: int = 5
    open_seconds: float = 30.0
    probe_seconds: float = 30.0

    def __post_init__(self) -> None:
        if self.threshold < 1 or self.open_seconds <= 0 or self.probe_seconds <= 0:
            raise ConfigurationError(
                "a breaker needs threshold >= 1 and positive open and probe seconds"
            )


class BreakerState(metaclass=ABCMeta):
    """Where circuits live. ``now`` comes from the breaker's clock, in seconds."""

    async def start(self) -> None:  # noqa: B027
        """Connect."""

    async def close(self) -> None:  # noqa: B027
        """Disconnect."""

    @abstractmethod
    async def allow(self, target: str, now: float, policy: BreakerPolicy) -> BreakerDecision:
        """Decide whether a call to ``target`` may go; take the half-open probe when due.
        Atomic: of concurrent callers on a due circuit exactly one gets the probe."""

    @abstractmethod
    async def record(
        self, target: str, ok: bool, now: float, policy: BreakerPolicy
    ) -> CircuitState:
        """Report the outcome of a call that :meth:`allow` let through; returns the
        circuit's state afterwards."""

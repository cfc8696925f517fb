"""Circuit breakers per target, so a failing target is left alone instead of hammered.

Start with :func:`open_breaker`; :mod:`vecron.breaker.circuit` explains how a worker
uses it.
"""

from __future__ import annotations

from vecron.breaker.base import BreakerDecision as BreakerDecision
from vecron.breaker.base import BreakerPolicy as BreakerPolicy
from vecron.breaker.base import BreakerState as BreakerState
from vecron.breaker.base import CircuitState as CircuitState
from vecron.breaker.circuit import CircuitBreaker as CircuitBreaker
from vecron.breaker.factory import open_breaker as open_breaker
from vecron.breaker.memory import MemoryBreakerState as MemoryBreakerState

"""Circuit breakers per target, so a failing target is left alone instead of hammered.

Start with :func:`open_breaker`; :mod:`vecron.breaker.circuit` explains how a worker
uses it.
"""

from __future__ import annotations

from .base import BreakerDecision as BreakerDecision
from .base import BreakerPolicy as BreakerPolicy
from .base import BreakerState as BreakerState
from .base import CircuitState as CircuitState
from .circuit import CircuitBreaker as CircuitBreaker
from .factory import open_breaker as open_breaker
from .memory import MemoryBreakerState as MemoryBreakerState

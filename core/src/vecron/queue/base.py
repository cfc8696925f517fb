"""The queue contract.

A queue carries execution ids only; the store is the truth. Delivery is at least once:
a worker claims the execution in the store before running it, so a duplicate delivery
is dropped there.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class QueueMessage:
    """``attempt`` is the execution's attempt count when published: a retry is a new
    message, a second publish of the same attempt a duplicate the broker may drop.
    ``resend`` marks a reconciler's re-send, which must get past that de-duplication."""

    execution_id: str
    not_before: datetime
    attempt: int = 0
    resend: bool = False


class Delivery(metaclass=ABCMeta):
    """One received message. Exactly one of ``ack``/``nak`` ends it."""

    message: QueueMessage

    @abstractmethod
    async def ack(self) -> None:
        """Done with it (finished, or not ours to run)."""

    @abstractmethod
    async def nak(self, delay: float = 0.0) -> None:
        """Give it back for redelivery after ``delay`` seconds (shutdown, lost claim)."""

    async def in_progress(self) -> None:  # noqa: B027 - brokers with ack deadlines override
        """Tell the broker the work goes on (long steps)."""


class Queue(metaclass=ABCMeta):
    url: str

    async def start(self) -> None:  # noqa: B027 - nothing to open for in-process queues
        """Connect."""

    async def close(self) -> None:  # noqa: B027
        """Disconnect what ``start`` opened."""

    @abstractmethod
    async def publish(self, messages: Sequence[QueueMessage]) -> None:
        """Hand messages over; returns once the queue holds them durably (if it can)."""

    @abstractmethod
    async def fetch(self, max_messages: int, timeout: float) -> list[Delivery]:
        """Up to ``max_messages`` deliveries; waits at most ``timeout`` s for the first."""

    async def ping(self) -> None:  # noqa: B027 - in-process queues are always there
        """Check the broker answers. :raises BackendUnavailable: it does not."""

    async def dead_letter(self, execution_id: str, reason: str) -> None:  # noqa: B027
        """Announce a dead-lettered execution to broker-side consumers (best effort).

        The store's dead-letter record is the truth; brokers without a dead-letter
        subject do nothing, and a broker failure here is logged, never raised.
        """

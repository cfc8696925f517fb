"""Gauges of shared state, read from the store when scraped.

Queue depth, the outbox, running executions and dead letters are facts of the database,
not of one process: every process that serves ``/metrics`` asks the store (one indexed
query, :meth:`~vecron.store.base.Store.backlog`) and reports the same numbers. Answers are
kept for ``max_age`` seconds, so many scrapers (or many processes scraped at once) cost
one query per period. A store that does not answer shows as ``database_up 0``, and the
other gauges are left out rather than shown stale.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from vecron.store.base import Backlog, Store
from vecron.telemetry import get_logger

log = get_logger("vecron.metrics")

#: Seconds an answer of the store is served before it is asked again.
MAX_AGE = 2.0
#: Seconds a scrape waits for the store.
TIMEOUT = 2.0

#: (name, help, the Backlog field) of each gauge.
GAUGES = (
    ("job_queue_size", "Executions waiting for a worker (queued).", "queued"),
    (
        "outbox_size",
        "Queued executions not yet handed to the queue (the outbox).",
        "unpublished",
    ),
    ("active_executions", "Executions a worker is running now.", "running"),
    ("dead_letter_size", "Dead-lettered executions waiting for a rerun by hand.", "dead_letters"),
)


class BacklogCollector(Collector):
    def __init__(
        self,
        store: Store,
        *,
        max_age: float = MAX_AGE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.max_age = max_age
        self.clock = clock
        self._backlog: Backlog | None = None
        self._up = False
        self._asked_at: float | None = None
        self._asking = asyncio.Lock()

    async def refresh(self) -> None:
        """Ask the store unless its last answer is recent; never raises."""
        async with self._asking:  # concurrent scrapes share one query
            now = self.clock()
            if self._asked_at is not None and now - self._asked_at < self.max_age:
                return
            try:
                async with asyncio.timeout(TIMEOUT):
                    self._backlog = await self.store.backlog()
                self._up = True
            except Exception as exc:
                if self._up or self._asked_at is None:
                    log.warning("metrics: the store did not answer", error=str(exc)[:300])
                self._backlog, self._up = None, False
            self._asked_at = self.clock()

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Registering must not query the store: the families, without values.
        yield GaugeMetricFamily("database_up", "")
        for name, _, _ in GAUGES:
            yield GaugeMetricFamily(name, "")

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "database_up",
            "1 when the store answered this process's last metrics query, else 0.",
            value=1 if self._up else 0,
        )
        backlog = self._backlog
        for name, text, field in GAUGES:
            family = GaugeMetricFamily(name, text)
            if backlog is not None:
                family.add_metric([], getattr(backlog, field))
            yield family

"""Prometheus metrics: the instruments of one process (:class:`Metrics`), the gauges
read from the store (:class:`BacklogCollector`) and ``GET /metrics``."""

from __future__ import annotations

from vecron.metrics.backlog import BacklogCollector as BacklogCollector
from vecron.metrics.exposition import add_metrics as add_metrics
from vecron.metrics.instruments import Metrics as Metrics

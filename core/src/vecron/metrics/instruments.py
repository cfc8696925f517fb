"""The metrics a vecron process exports, in one registry per process.

Counters and histograms are kept by the process that does the work: the scheduler
counts the fire times it planned, the worker what its executions did, the API the
requests it answered — each at the place that records the fact, after the store applied
it. Gauges of shared state (queue depth, dead letters, running executions) are not kept
here: :mod:`vecron.metrics.backlog` reads them from the store when scraped, so every
process reports the same truth.

Labels are bounded: a job's name (``job_name``: Prometheus itself puts ``job`` on every
series it scrapes, naming the scrape job), a step type, a circuit's target (``scheme://host:port``,
never a path or a credential), an API route's template. Execution ids, full URLs and
user input never become a label.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from vecron.breaker.base import CircuitState
from vecron.metrics.backlog import BacklogCollector
from vecron.models.execution import Execution, ExecutionStatus, Outcome
from vecron.store.base import Store

#: Seconds: from well under a second (a quick HTTP call) to an hour-long export.
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
#: Seconds a run started after its fire time: a healthy scheduler stays in the first few.
LATENESS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
#: Seconds an API request took.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

#: The value ``circuit_breaker_state`` shows for each state.
CIRCUIT_VALUES = {CircuitState.CLOSED: 0, CircuitState.HALF_OPEN: 1, CircuitState.OPEN: 2}


#: The label value of every request no route matched (a client's typo or a scanner).
UNMATCHED = "<unmatched>"
#: Methods counted by name; any other a client sends is counted as ``OTHER``.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

_FAILED = frozenset({ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT})

#: The series a family of each type exports.
_SERIES_ENDS = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "unknown": ("",),
}


class Metrics:
    """One process's metrics; ``registry`` is what ``GET /metrics`` renders.

    Not the client library's global registry: two runtimes in one process (the tests,
    an embedding application) keep their numbers apart, and importing vecron registers
    nothing anywhere.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.job_success = Counter(
            "job_success", "Executions that succeeded.", ["job_name"], registry=r
        )
        self.job_failed = Counter(
            "job_failed",
            "Executions that failed for good (failed or timed out, after their last attempt).",
            ["job_name"],
            registry=r,
        )
        self.job_duration = Histogram(
            "job_duration_seconds",
            "Seconds from the start of an execution's last attempt to its end, for those that "
            "succeeded or failed for good.",
            ["job_name"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.job_retries = Counter(
            "job_retries",
            "Failed attempts that were scheduled to run again.",
            ["job_name"],
            registry=r,
        )
        self.job_dead_lettered = Counter(
            "job_dead_lettered",
            "Executions put in the dead-letter table after their last attempt.",
            ["job_name"],
            registry=r,
        )
        self.job_occurrences = Counter(
            "job_occurrences",
            "Fire times by what became of them (fired, skipped, missed, coalesced, excluded).",
            ["job_name", "outcome"],
            registry=r,
        )
        self.scheduler_lateness = Histogram(
            "scheduler_lateness_seconds",
            "Seconds from a scheduled run's fire time to the start of its first attempt.",
            buckets=LATENESS_BUCKETS,
            registry=r,
        )
        self.step_duration = Histogram(
            "step_duration_seconds",
            "Seconds one step took, by step type and how it ended.",
            ["step_type", "status"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.circuit_state = Gauge(
            "circuit_breaker_state",
            "A target's circuit as this process last saw it: 0 closed, 1 half-open, 2 open.",
            ["target"],
            registry=r,
        )
        self.leader_acquisitions = Counter(
            "scheduler_leader_acquisitions",
            "Times this process's scheduler took the leader lock and was elected.",
            registry=r,
        )
        self.leader_losses = Counter(
            "scheduler_leader_losses",
            "Times this process's scheduler lost the leadership (lock lost or fenced out).",
            registry=r,
        )
        self.leader = Gauge(
            "scheduler_leader", "1 while this process's scheduler leads, else 0.", registry=r
        )
        self.fencing_epoch = Gauge(
            "scheduler_fencing_epoch",
            "The leadership epoch this process's scheduler writes under; 0 while standing by.",
            registry=r,
        )
        self.api_requests = Counter(
            "api_requests",
            "API requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.api_latency = Histogram(
            "api_request_duration_seconds",
            "Seconds the API took to answer, by method and route template.",
            ["method", "route"],
            buckets=REQUEST_BUCKETS,
            registry=r,
        )

        #: The store's gauges, once :meth:`read_backlog_from` named the store.
        self.backlog: BacklogCollector | None = None
        self._jobs: set[str] = set()
        self._circuits: dict[str, CircuitState] = {}

    def read_backlog_from(self, store: Store) -> None:
        """Export the store's gauges (queue depth, dead letters …), asked when scraped."""
        if self.backlog is not None:  # a runtime opened again: its store is new
            self.registry.unregister(self.backlog)
        self.backlog = BacklogCollector(store)
        self.registry.register(self.backlog)

    async def render(self) -> bytes:
        """The exposition of ``GET /metrics``, the store's gauges fresh."""
        if self.backlog is not None:
            await self.backlog.refresh()
        # Thousands of jobs make a long text: written off the event loop, so a scrape
        # does not hold up the scheduler's and the worker's tasks meanwhile.
        return await asyncio.to_thread(generate_latest, self.registry)

    def names(self) -> set[str]:
        """Every series name this registry exports, as PromQL sees them (``_total``,
        ``_bucket``, ``_sum``, ``_count`` …), whether or not a series has a value yet."""
        names: set[str] = set()
        for family in self.registry.collect():
            names.update(f"{family.name}{end}" for end in _SERIES_ENDS[family.type])
        return names

    # -- what the scheduler saw --------------------------------------------------
    def occurrences(self, job: str, outcomes: Iterable[str]) -> None:
        for outcome in outcomes:
            self.job_occurrences.labels(job, outcome).inc()

    def elected(self, epoch: int) -> None:
        self.leader_acquisitions.inc()
        self.leader.set(1)
        self.fencing_epoch.set(epoch)

    def stepped_down(self, *, lost: bool) -> None:
        if lost:
            self.leader_losses.inc()
        self.leader.set(0)
        self.fencing_epoch.set(0)

    # -- what the API answered ---------------------------------------------------
    def answered(self, method: str, route: str | None, status: int, seconds: float) -> None:
        """Count one API answer. ``route``: the matched route's template (never the raw
        path); None for a path no route matches, which all share one label value."""
        method = method if method in _METHODS else "OTHER"
        route = UNMATCHED if route is None else route
        self.api_requests.labels(method, route, str(status)).inc()
        self.api_latency.labels(method, route).observe(seconds)

    # -- what the worker did -----------------------------------------------------
    def expect_job(self, job: str) -> None:
        """Make the job's series before its run is due: the first run of a job in this
        process then costs a tenth (a histogram's series are many objects), and each
        series shows 0 until something happens, so ``rate()`` sees the first change."""
        if job in self._jobs:
            return
        self._jobs.add(job)
        for per_job in (self.job_success, self.job_failed, self.job_duration, self.job_retries):
            per_job.labels(job)
        self.job_dead_lettered.labels(job)

    def settled(self, execution: Execution, outcome: Outcome) -> None:
        """Count an outcome the store applied (an attempt's end, a retry, a skip)."""
        job = execution.job_name
        status = outcome.status
        if status is ExecutionStatus.QUEUED:
            if not outcome.refund_attempt:  # a held step or a hand-back was no attempt
                self.job_retries.labels(job).inc()
            return
        if status is ExecutionStatus.SKIPPED:
            # As the ledger has it: only a fire time (not a manual run) is an occurrence.
            if execution.scheduled_at is not None:
                self.job_occurrences.labels(job, "skipped").inc()
            return
        if status is ExecutionStatus.SUCCEEDED:
            self.job_success.labels(job).inc()
        elif status in _FAILED:
            self.job_failed.labels(job).inc()
        else:  # cancelled: neither a success nor a failure of the job
            return
        if outcome.started_at is not None:
            seconds = (outcome.at - outcome.started_at).total_seconds()
            self.job_duration.labels(job).observe(max(seconds, 0.0))
        if outcome.dead_letter:
            self.job_dead_lettered.labels(job).inc()

    def started_late(self, fire_time: datetime, started: datetime) -> None:
        self.scheduler_lateness.observe(max((started - fire_time).total_seconds(), 0.0))

    def step_took(self, step_type: str, status: str, seconds: float) -> None:
        self.step_duration.labels(step_type, status).observe(max(seconds, 0.0))

    def circuit(self, target: str, state: CircuitState) -> None:
        # Asked twice per step that has a target: only a change costs the gauge's lock.
        if self._circuits.get(target) is not state:
            self._circuits[target] = state
            self.circuit_state.labels(target).set(CIRCUIT_VALUES[state])

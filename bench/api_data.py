"""The data set of ``bench/api.py``: jobs saved through the job service, executions, step
results and Job Contexts bulk-inserted into the real tables.

Jobs go through :meth:`JobService.save_many` (validation, versions, definition files in
object storage, as ``vecron job apply`` would). Executions are too many for that: they
are inserted with SQLAlchemy Core ``executemany`` into ``executions`` and
``step_results`` (:mod:`vecron.store.schema`), newest last, with ids laid out as
:func:`vecron.ids.new_id` lays them out (UUIDv7 of the creation time).

The variety: executions spread over the last 30 days and over the jobs by a Zipf-like
law (a few jobs run every minute, most rarely); about 90 % succeeded, 5 % failed (a third
of those dead-lettered), the rest timed out, cancelled or skipped; started by cron (80 %),
fixed_rate, manual (with parameters) and webhook; a fraction with step results and a Job
Context document. Nothing is queued or running, so the server under test has nothing to
claim, publish or reconcile.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from vecron.auth import LOCAL_OPERATOR
from vecron.models.execution import ExecutionStatus
from vecron.runtime import Runtime
from vecron.storage.layout import context_key
from vecron.store.schema import executions, jobs, step_results

DAYS = 30
#: Rows per executemany call (and per transaction).
CHUNK = 10_000
TEAMS = ("billing", "crm", "etl", "hr", "ops", "reports", "sales", "sync")
STATUSES = (
    (ExecutionStatus.SUCCEEDED, 0.90),
    (ExecutionStatus.FAILED, 0.05),
    (ExecutionStatus.TIMED_OUT, 0.01),
    (ExecutionStatus.CANCELLED, 0.01),
    (ExecutionStatus.SKIPPED, 0.03),
)
TRIGGERS = (("cron", 0.80), ("fixed_rate", 0.07), ("manual", 0.10), ("webhook", 0.03))
ERRORS = (
    "step 'fetch': HTTP 503 from https://api.example.test/export",
    "step 'load': connection refused (database 10.0.4.12:5432)",
    "step 'upload': SFTP permission denied on /inbox/report.csv",
    "step 'convert': row 1812: could not parse '12,5' as a number",
)


@dataclass
class Loaded:
    """What was loaded, and what the load generator needs to aim at it."""

    jobs: int = 0
    executions: int = 0
    step_results: int = 0
    contexts: int = 0
    seconds_jobs: float = 0.0
    seconds_executions: float = 0.0
    #: job name -> executions, for the most run jobs (most first).
    busiest: list[tuple[str, int]] = field(default_factory=list)
    #: job name -> failed executions, for the same jobs.
    failed: dict[str, int] = field(default_factory=dict)
    #: Execution ids to read one by one: half drawn from all, half from those with steps.
    sample_ids: list[str] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)


def job_document(i: int) -> dict[str, Any]:
    """A job of one to three HTTP steps with a far-future cron trigger: it is listed
    with a next fire time but never fires while the bench runs; one in ten disabled."""
    steps = [
        {
            "id": step,
            "type": "http",
            "method": "POST" if step == "push" else "GET",
            "url": f"http://127.0.0.1:9/{TEAMS[i % len(TEAMS)]}/{step}?job={i}",
            "timeout": 30,
        }
        for step in ("fetch", "transform", "push")[: 1 + i % 3]
    ]
    return {
        "name": f"{TEAMS[i % len(TEAMS)]}-job-{i:05d}",
        "description": f"Bench job {i}: moves {TEAMS[i % len(TEAMS)]} data along.",
        "enabled": i % 10 != 9,
        "timezone": "UTC",
        "tags": [TEAMS[i % len(TEAMS)], f"tier-{i % 3}"],
        "triggers": [{"type": "cron", "expression": f"{i % 60} {i % 60} 0 1 1 ? 2099"}],
        "retry": {"max_attempts": 1 + i % 3, "delay": 5},
        "steps": steps,
    }


async def save_jobs(rt: Runtime, count: int) -> list[tuple[str, str, int]]:
    """(id, name, steps) of ``count`` jobs saved through the job service."""
    saved: list[tuple[str, str, int]] = []
    for start in range(0, count, 2000):
        docs = [job_document(i) for i in range(start, min(count, start + 2000))]
        results = await rt.jobs.save_many(LOCAL_OPERATOR, [rt.jobs.parse(d) for d in docs])
        saved += [
            (r.job.id, r.job.name, len(d["steps"])) for r, d in zip(results, docs, strict=True)
        ]
    return saved


def uuid7_at(moment: datetime, rng: random.Random) -> str:
    """A UUIDv7 of ``moment``, as :func:`vecron.ids.new_id` makes at that instant."""
    ms = int(moment.timestamp() * 1000)
    value = (ms & ((1 << 48) - 1)) << 80 | rng.getrandbits(80)
    value = (value & ~(0xF << 76)) | (0x7 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    return str(uuid.UUID(int=value))


def pick(rng: random.Random, table: Sequence[tuple[Any, float]]) -> Any:
    roll = rng.random()
    for value, share in table:
        roll -= share
        if roll < 0:
            return value
    return table[-1][0]


ERROR_OF = {
    ExecutionStatus.TIMED_OUT: "execution timed out after 30 s",
    ExecutionStatus.SKIPPED: "skipped: the previous execution was still running",
}


def execution_row(
    job: tuple[str, str, int],
    created: datetime,
    fired: set[tuple[str, datetime]],
    rng: random.Random,
) -> dict[str, Any]:
    """One finished execution of ``job`` (id, name, steps) made at ``created``."""
    job_id, job_name, step_count = job
    status = pick(rng, STATUSES)
    trigger = pick(rng, TRIGGERS)
    execution_id = uuid7_at(created, rng)
    fire = None
    if trigger in ("cron", "fixed_rate"):
        fire = created.replace(microsecond=0)
        # One execution per job and fire time: the idempotency key is unique.
        while (job_id, fire) in fired:
            fire -= timedelta(seconds=1)
        fired.add((job_id, fire))
    max_attempts = 1 + step_count % 3
    started = None
    finished = created
    if status is not ExecutionStatus.SKIPPED:
        started = created + timedelta(milliseconds=rng.randrange(2, 400))
        finished = started + timedelta(milliseconds=int(rng.lognormvariate(7, 1.2)))
    failed = status is ExecutionStatus.FAILED
    return {
        "id": execution_id,
        "job_id": job_id,
        "job_name": job_name,
        "job_version": 1,
        "idempotency_key": f"{job_id}@{fire.isoformat()}"
        if fire is not None
        else f"{job_id}:{trigger}:{execution_id}",
        "trigger": trigger,
        "triggered_by": "ci-bot" if trigger == "manual" else None,
        "scheduled_at": fire,
        "not_before": fire or created,
        "status": status.value,
        "attempt": max_attempts if failed else 1,
        "max_attempts": max_attempts,
        "created_at": created,
        "params": {"date": created.date().isoformat()} if trigger == "manual" else {},
        "started_at": started,
        "finished_at": finished,
        "lease_owner": None,
        "lease_expires_at": None,
        "error": rng.choice(ERRORS) if failed else ERROR_OF.get(status),
        # A third of the failures ran out of attempts and were dead-lettered.
        "dead_lettered_at": finished if failed and rng.random() < 1 / 3 else None,
        "published": True,
    }


def execution_rows(
    count: int,
    saved: Sequence[tuple[str, str, int]],
    now: datetime,
    rng: random.Random,
    with_steps: float,
) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]]:
    """Chunks of (execution rows, step result rows, Job Contexts), oldest first."""
    # Zipf-like: the k-th busiest job gets a share 1/(k+10), the busiest about 1.4 % of
    # all executions. Ranks are dealt at random: a page of names is a mix, as in life.
    ranked = list(saved)
    rng.shuffle(ranked)
    cum_weights = list(itertools.accumulate(1 / (k + 10) for k in range(len(ranked))))
    first = now - timedelta(days=DAYS)
    offsets = sorted(rng.randrange(DAYS * 86_400_000_000) for _ in range(count))
    seq = itertools.count(1)
    fired: set[tuple[str, datetime]] = set()
    for start in range(0, count, CHUNK):
        part = offsets[start : start + CHUNK]
        chosen = rng.choices(ranked, cum_weights=cum_weights, k=len(part))
        rows: list[dict[str, Any]] = []
        steps: list[dict[str, Any]] = []
        contexts: list[dict[str, Any]] = []
        for offset, job in zip(part, chosen, strict=True):
            row = execution_row(job, first + timedelta(microseconds=offset), fired, rng)
            rows.append(row)
            if row["started_at"] is not None and rng.random() < with_steps:
                more = step_rows(row, job[2], seq, rng)
                steps += more
                contexts.append(context_document(row, more))
        yield rows, steps, contexts


def step_rows(
    row: dict[str, Any], step_count: int, seq: Iterator[int], rng: random.Random
) -> list[dict[str, Any]]:
    """The steps of execution ``row``: each succeeded, but the last of a failed run."""
    started, finished = row["started_at"], row["finished_at"]
    succeeded = row["status"] == ExecutionStatus.SUCCEEDED.value
    names = ("fetch", "transform", "push")[:step_count]
    width = (finished - started) / step_count
    out = []
    for n, step in enumerate(names):
        last = n == step_count - 1
        step_status = "succeeded"
        if last and not succeeded:
            step_status = "timed_out" if row["status"] == "timed_out" else "failed"
        out.append(
            {
                "execution_id": row["id"],
                "step_id": step,
                "seq": next(seq),
                "attempt": row["attempt"],
                "status": step_status,
                "started_at": started + width * n,
                "finished_at": started + width * (n + 1),
                "error": None if step_status == "succeeded" else rng.choice(ERRORS),
            }
        )
    return out


def context_document(row: dict[str, Any], steps: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The Job Context a worker writes when the execution ends (vecron.jobs.context)."""
    fire = row["scheduled_at"]
    return {
        "execution": {
            "id": row["id"],
            "job": row["job_name"],
            "job_id": row["job_id"],
            "job_version": row["job_version"],
            "attempt": row["attempt"],
            "scheduled_at": fire.isoformat() if fire else None,
            "created_at": row["created_at"].isoformat(),
            "status": row["status"],
        },
        "trigger": {
            "type": row["trigger"],
            "by": row["triggered_by"],
            "fire_time": fire.isoformat() if fire else None,
            "params": row["params"],
        },
        "steps": {
            s["step_id"]: {
                "status": s["status"],
                "output": {"status": 200, "bytes": 4096 + len(s["step_id"]) * 97}
                if s["status"] == "succeeded"
                else None,
                "error": s["error"],
                "attempt": s["attempt"],
                "started_at": s["started_at"].isoformat(),
                "finished_at": s["finished_at"].isoformat(),
            }
            for s in steps
        },
    }


class Census:
    """Counts over the inserted executions, and a uniform sample of their ids."""

    def __init__(self, sample: int, rng: random.Random) -> None:
        self.sample = sample
        self.rng = rng
        self.seen = 0
        self.steps = 0
        self.per_job: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.ids: list[str] = []  # reservoir sampling: each id equally likely

    def add(self, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            self.seen += 1
            self.per_job[row["job_name"]] += 1
            self.statuses[row["status"]] += 1
            if row["status"] == ExecutionStatus.FAILED.value:
                self.failed[row["job_name"]] += 1
            if len(self.ids) < self.sample:
                self.ids.append(row["id"])
            elif (slot := self.rng.randrange(self.seen)) < self.sample:
                self.ids[slot] = row["id"]


async def insert_executions(
    rt: Runtime,
    engine: AsyncEngine,
    chunks: Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]],
    census: Census,
) -> list[str]:
    """Insert every chunk (one transaction each) and write its Job Contexts; returns
    the ids of the executions that have them."""
    storage = rt.storage
    with_contexts: list[str] = []
    writing: asyncio.Task[None] | None = None
    for rows, steps, contexts in chunks:
        async with engine.begin() as conn:
            await conn.execute(executions.insert(), rows)
            if steps:
                await conn.execute(step_results.insert(), steps)
        # The files of one chunk are written (in a thread) while the next is inserted.
        if writing is not None:
            await writing
        writing = asyncio.create_task(
            storage.put_many(
                [(context_key(c["execution"]["id"]), json.dumps(c).encode()) for c in contexts]
            )
        )
        census.add(rows)
        census.steps += len(steps)
        with_contexts += [c["execution"]["id"] for c in contexts]
    if writing is not None:
        await writing
    return with_contexts


async def load(
    rt: Runtime,
    engine: AsyncEngine,
    *,
    job_count: int,
    execution_count: int,
    with_steps: float,
    sample_size: int,
    seed: int = 11,
) -> Loaded:
    """Save the jobs, insert the executions, write their Job Contexts."""
    rng = random.Random(seed)
    loaded = Loaded()
    began = time.perf_counter()
    saved = await save_jobs(rt, job_count)
    loaded.jobs = len(saved)
    loaded.seconds_jobs = time.perf_counter() - began
    print(f"  saved {loaded.jobs:,} jobs in {loaded.seconds_jobs:.1f} s", flush=True)

    began = time.perf_counter()
    half = max(1, sample_size // 2)
    census = Census(half, rng)
    now = datetime.now(UTC) - timedelta(minutes=5)
    chunks = execution_rows(execution_count, saved, now, rng, with_steps)
    with_contexts = await insert_executions(rt, engine, chunks, census)
    # As the worker leaves it: last_finished_at is the job's latest finish.
    async with engine.begin() as conn:
        latest = (
            select(func.max(executions.c.finished_at))
            .where(executions.c.job_id == jobs.c.id)
            .scalar_subquery()
        )
        await conn.execute(update(jobs).values(last_finished_at=latest))
    loaded.seconds_executions = time.perf_counter() - began
    loaded.executions = census.seen
    loaded.statuses = census.statuses
    loaded.step_results = census.steps
    loaded.contexts = len(with_contexts)
    loaded.busiest = census.per_job.most_common(10)
    loaded.failed = {name: census.failed[name] for name, _ in loaded.busiest}
    loaded.sample_ids = census.ids + rng.sample(with_contexts, min(half, len(with_contexts)))
    rng.shuffle(loaded.sample_ids)
    print(
        f"  inserted {loaded.executions:,} executions and {loaded.step_results:,} step results, "
        f"wrote"
        f" {loaded.contexts:,} Job Contexts in {loaded.seconds_executions:.1f} s",
        flush=True,
    )
    return loaded

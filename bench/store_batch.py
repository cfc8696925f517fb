"""How long the store's batched hot path takes for 1,000 rows.

    uv run python bench/store_batch.py [--url URL] [--rows N] [--rounds R]

Times ``apply_fires`` (N fires, one execution and one ledger row each), ``claim`` (N
ids) and ``record`` (N step results and N outcomes). The default URL is a fresh SQLite
file in a temporary directory; a PostgreSQL URL without a database name
(``postgresql+asyncpg://postgres@127.0.0.1:5432/``) gets a temporary database that is
dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from vecron.ids import new_id
from vecron.models.definition import JobDefinition, StepSpec, TriggerSpec
from vecron.models.execution import (
    ExecutionStatus,
    NewExecution,
    OccurrenceStatus,
    Outcome,
    StepResult,
    StepStatus,
)
from vecron.store import JobFires, NewOccurrence, open_store


@asynccontextmanager
async def database(url: str | None) -> AsyncIterator[str]:
    """The URL to benchmark, creating (and dropping) a scratch database when needed."""
    if url is None:
        with tempfile.TemporaryDirectory() as directory:
            yield f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
        return
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or parsed.database:
        yield url
        return
    name = f"vecron_bench_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield parsed.set(database=name).render_as_string(hide_password=False)
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


def definition(name: str) -> JobDefinition:
    return JobDefinition(
        name=name,
        timezone="UTC",
        triggers=[TriggerSpec(type="cron", config={"expression": "0 * * * * ?"})],
        steps=[StepSpec(id="call", type="http", config={"url": "http://127.0.0.1/"})],
    )


async def run(url: str, rows: int, rounds: int) -> dict[str, list[float]]:
    store = open_store(url)
    await store.start()
    try:
        await store.upgrade()
        start = datetime(2030, 1, 1, tzinfo=UTC) + timedelta(microseconds=123_457)
        prefix = uuid.uuid4().hex[:8]
        jobs = [
            (
                await store.save_job(
                    definition(f"bench-{prefix}-{i}"), next_fire_at=start, now=start
                )
            ).job
            for i in range(rows)
        ]
        timings: dict[str, list[float]] = {"apply_fires": [], "claim": [], "record": []}
        for round_number in range(rounds):
            fire_time = start + timedelta(minutes=round_number)
            following = fire_time + timedelta(minutes=1)
            fires = []
            for job in jobs:
                execution_id = new_id()
                fires.append(
                    JobFires(
                        job_id=job.id,
                        expected_next_fire_at=fire_time,
                        new_next_fire_at=following,
                        executions=[
                            NewExecution(
                                id=execution_id,
                                job_id=job.id,
                                job_name=job.name,
                                job_version=job.version,
                                idempotency_key=f"{job.id}:{fire_time.isoformat()}",
                                trigger="cron",
                                triggered_by=None,
                                scheduled_at=fire_time,
                                not_before=fire_time,
                                max_attempts=3,
                                created_at=fire_time,
                            )
                        ],
                        occurrences=[
                            NewOccurrence(
                                job_id=job.id,
                                fire_time=fire_time,
                                status=OccurrenceStatus.FIRED,
                                execution_id=execution_id,
                            )
                        ],
                    )
                )
            began = time.perf_counter()
            created = await store.apply_fires(fires)
            timings["apply_fires"].append(time.perf_counter() - began)
            assert len(created) == rows, len(created)

            ids = [execution.id for execution in created]
            now = fire_time + timedelta(seconds=1)
            began = time.perf_counter()
            claimed = await store.claim(
                ids, "bench", lease_until=now + timedelta(minutes=5), now=now
            )
            timings["claim"].append(time.perf_counter() - began)
            assert len(claimed) == rows, len(claimed)

            done = now + timedelta(seconds=1)
            results = [
                StepResult(
                    execution_id=execution.id,
                    step_id="call",
                    attempt=execution.attempt,
                    status=StepStatus.SUCCEEDED,
                    started_at=now,
                    finished_at=done,
                    output={"status": 200},
                )
                for execution in claimed
            ]
            outcomes = [
                Outcome(
                    execution_id=execution.id,
                    owner="bench",
                    attempt=execution.attempt,
                    status=ExecutionStatus.SUCCEEDED,
                    at=done,
                )
                for execution in claimed
            ]
            began = time.perf_counter()
            applied = await store.record(results, outcomes)
            timings["record"].append(time.perf_counter() - began)
            assert all(applied)
        return timings
    finally:
        await store.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    async with database(arguments.url) as url:
        backend = make_url(url).get_backend_name()
        timings = await run(url, arguments.rows, arguments.rounds)
    print(f"{backend}: {arguments.rows} rows, {arguments.rounds} rounds (median / best, ms)")
    for operation, samples in timings.items():
        median = statistics.median(samples) * 1000
        best = min(samples) * 1000
        print(f"  {operation:<12} {median:8.1f} / {best:8.1f}")


if __name__ == "__main__":
    asyncio.run(main())

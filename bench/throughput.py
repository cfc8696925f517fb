"""End-to-end throughput on the distributed backends (or the embedded ones).

    uv run python bench/throughput.py [--backend distributed|embedded] [--workers 2]
        [--burst 10000] [--due 1000] [--steady 200 --seconds 20]

Runs real processes — one ``vecron scheduler`` and ``--workers`` ``vecron worker`` — on
PostgreSQL + NATS JetStream + Redis (``distributed``, the services on this machine) or
one ``vecron up`` on SQLite + the in-process queue (``embedded``), against an HTTP
target in a third process. Three workloads, each on a fresh database:

- burst: ``--burst`` one-step HTTP executions due at the same instant: executions/s
  from the fire time to the last finish;
- due-at-once: ``--due`` jobs due at the same instant: lateness p50/p99;
- steady: ``--steady`` jobs firing every second for ``--seconds``: lateness p50/p99 and
  fires missed.

Every workload also counts executions duplicated (two for one fire time, or a request
sent twice) and lost (a fire time without a succeeded execution); both must be 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from vecron.auth import LOCAL_OPERATOR
from vecron.models.execution import ExecutionStatus
from vecron.runtime import Runtime
from vecron.settings import Settings
from vecron.telemetry import configure_logging

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from lateness import pct, start_target  # noqa: E402

VECRON = str(Path(sys.executable).with_name("vecron"))
PG = os.environ.get("VECRON_BENCH_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432")


async def fresh_database() -> str:
    name = f"vecron_bench_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return f"{PG}/{name}"


async def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_async_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


def environment(backend: str, database: str, home: Path) -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    env = {
        "VECRON_DATABASE_URL": database,
        "VECRON_LOG_LEVEL": os.environ.get("VECRON_BENCH_LOG_LEVEL", "warning"),
        "VECRON_LOG_FORMAT": "json",
        "VECRON_PORT": "0",
        "VECRON_WORKER_CONCURRENCY": "1000",
        "VECRON_CONFIG": str(home / "none.toml"),
    }
    if backend == "distributed":
        env["VECRON_QUEUE_URL"] = (
            f"nats://127.0.0.1:4222?stream=B{tag}&subject=bench.{tag}&durable=w{tag}"
        )
        env["VECRON_LOCK_URL"] = f"redis://127.0.0.1:6379/0?prefix=bench-{tag}"
    return env


def target_count(port: int) -> dict[str, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/count") as r:
        data: dict[str, int] = json.load(r)
    return data


async def warm_up(rt: Runtime, port: int, count: int) -> None:
    """Run a few executions first, so every process is up before the measured fires."""
    await rt.jobs.save(
        LOCAL_OPERATOR,
        rt.jobs.parse(
            {
                "name": "warm-up",
                "steps": [{"id": "a", "type": "http", "url": f"http://127.0.0.1:{port}/ping"}],
            }
        ),
    )
    ids = [
        (await rt.triggers.fire(LOCAL_OPERATOR, "warm-up", kind="manual")).execution.id
        for _ in range(count)
    ]
    for execution_id in ids:
        await rt.executions.wait(LOCAL_OPERATOR, execution_id, timeout=120)


async def workload(
    args: argparse.Namespace,
    name: str,
    make: Any,
    lead: float,
    port: int,
) -> dict[str, Any]:
    """``make(fire_time) -> (documents, fires per job, when to stop waiting)``."""
    home = Path(tempfile.mkdtemp())
    database = (
        await fresh_database()
        if args.backend == "distributed"
        else f"sqlite+aiosqlite:///{home}/vecron.db"
    )
    env = environment(args.backend, database, home)
    settings = Settings(
        **{k.removeprefix("VECRON_").lower(): v for k, v in env.items() if k != "VECRON_CONFIG"}
    )
    before = target_count(port)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        async with Runtime(settings) as rt:
            full_env = {**os.environ, **env}
            if args.backend == "distributed":
                procs.append(subprocess.Popen([VECRON, "scheduler"], env=full_env, cwd=home))
                procs += [
                    subprocess.Popen([VECRON, "worker"], env=full_env, cwd=home)
                    for _ in range(args.workers)
                ]
            else:
                procs.append(
                    subprocess.Popen([VECRON, "up", "--no-example"], env=full_env, cwd=home)
                )
            await warm_up(rt, port, 4 * max(1, args.workers))
            at = (datetime.now(UTC) + timedelta(seconds=lead)).replace(microsecond=0)
            docs, fires, until = make(at)
            for start in range(0, len(docs), 5000):
                await rt.jobs.save_many(
                    LOCAL_OPERATOR, [rt.jobs.parse(d) for d in docs[start : start + 5000]]
                )
            if datetime.now(UTC) > at - timedelta(seconds=1):
                raise SystemExit("registering the jobs took longer than the lead time")
            expected = sum(fires.values())
            deadline = until + timedelta(seconds=120)
            while datetime.now(UTC) < deadline:
                await asyncio.sleep(0.5)
                done = await rt.store.list_executions(
                    status=ExecutionStatus.SUCCEEDED, limit=expected + 1
                )
                if len(done) >= expected and datetime.now(UTC) > until:
                    break
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                proc.wait(60)
            executions = await rt.store.list_executions(limit=expected * 2 + 10)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        if args.backend == "distributed":
            await drop_database(database)
    after = target_count(port)
    executions = [e for e in executions if e.job_name != "warm-up"]
    per_fire = Counter((e.job_name, e.scheduled_at) for e in executions)
    per_job = Counter(e.job_name for e in executions if e.status is ExecutionStatus.SUCCEEDED)
    lost = sum(max(0, n - per_job[job]) for job, n in fires.items())
    warm = 4 * max(1, args.workers)
    sent = after["requests"] - before["requests"] - warm
    distinct = after["keys"] - before["keys"] - warm
    lateness = [
        (e.started_at - e.scheduled_at).total_seconds() * 1000
        for e in executions
        if e.started_at and e.scheduled_at
    ]
    finished = [e.finished_at for e in executions if e.finished_at]
    first_fire = min(e.scheduled_at for e in executions if e.scheduled_at)
    span = (max(finished) - first_fire).total_seconds()
    return {
        "workload": name,
        "executions": len(executions),
        "executions_per_s": round(len(finished) / span, 1) if name == "burst" else None,
        "lateness_ms_p50": round(statistics.median(lateness), 1),
        "lateness_ms_p99": round(pct(lateness, 0.99), 1),
        "duplicated": sum(n - 1 for n in per_fire.values() if n > 1) + (sent - distinct),
        "lost": lost,
    }


def once_docs(count: int, at: datetime, port: int, prefix: str) -> list[dict[str, Any]]:
    return [
        {
            "name": f"{prefix}-{i}",
            "triggers": [{"type": "once", "at": at.isoformat()}],
            "steps": [{"id": "a", "type": "http", "url": f"http://127.0.0.1:{port}/ping"}],
        }
        for i in range(count)
    ]


async def main(args: argparse.Namespace, port: int) -> list[dict[str, Any]]:
    results = []
    if args.burst:

        def burst(at: datetime) -> Any:
            docs = once_docs(args.burst, at, port, "burst")
            return docs, {d["name"]: 1 for d in docs}, at

        results.append(await workload(args, "burst", burst, 3 + args.burst / 400, port))
    if args.due:

        def due(at: datetime) -> Any:
            docs = once_docs(args.due, at, port, "due")
            return docs, {d["name"]: 1 for d in docs}, at

        results.append(await workload(args, "due-at-once", due, 3 + args.due / 400, port))
    if args.steady:

        def steady(start: datetime) -> Any:
            end = start + timedelta(seconds=args.seconds - 1)
            docs = [
                {
                    "name": f"steady-{i}",
                    "timezone": "UTC",
                    "start_at": start.isoformat(),
                    "end_at": end.isoformat(),
                    "triggers": [{"type": "cron", "expression": "* * * * * ?"}],
                    "steps": [{"id": "a", "type": "http", "url": f"http://127.0.0.1:{port}/ping"}],
                }
                for i in range(args.steady)
            ]
            return docs, {d["name"]: args.seconds for d in docs}, end + timedelta(seconds=2)

        results.append(await workload(args, "steady", steady, 3, port))
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["distributed", "embedded"], default="distributed")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--burst", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--steady", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=20)
    arguments = parser.parse_args()
    configure_logging("warning", "json")
    target, target_port = start_target()
    try:
        started = time.perf_counter()
        rows = asyncio.run(main(arguments, target_port))
    finally:
        target.terminate()
        target.wait()
    took = time.perf_counter() - started
    print(f"backend={arguments.backend} workers={arguments.workers} ({took:.0f} s)")
    for row in rows:
        print("  ".join(f"{k}={v}" for k, v in row.items() if v is not None))

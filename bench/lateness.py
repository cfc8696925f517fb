"""Lateness and throughput of N jobs due at the same instant, on the embedded defaults.

    uv run python bench/lateness.py [--jobs 1000] [--registered 100000] [--concurrency N]

Everything vecron persists is persisted (SQLite file, every execution, step result and
ledger row); the scheduler and worker run in this process as in ``vecron up``; the HTTP
target runs in a second process. Lateness is an execution's start (when the worker
starts it, at its fire time, before its first step) minus its fire time; "request
arrival" is when the HTTP target received the step's request, minus the fire time (the
end-to-end view).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from vecron.auth import LOCAL_OPERATOR
from vecron.models.execution import ExecutionStatus
from vecron.runtime import Runtime, tune_for_serving
from vecron.settings import Settings
from vecron.telemetry import configure_logging

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_target() -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(HERE / "target.py"), "--port", str(port)])
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/count", timeout=1)
            return proc, port
        except OSError:
            time.sleep(0.05)
    raise SystemExit("target did not start")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def register(rt: Runtime, docs: list[dict[str, object]]) -> None:
    for start in range(0, len(docs), 5000):
        await rt.jobs.save_many(
            LOCAL_OPERATOR, [rt.jobs.parse(doc) for doc in docs[start : start + 5000]]
        )


async def bench(args: argparse.Namespace, port: int, home: Path) -> dict[str, object]:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{home}/vecron.db",
        storage_url=f"file://{home}/s",
        port=0,
        worker_concurrency=args.concurrency,
        log_level="warning",
        scheduler_lookahead=args.lookahead,
    )
    async with Runtime(settings) as rt:
        if args.registered:
            t = time.perf_counter()
            idle = [
                {
                    "name": f"idle-{i}",
                    "triggers": [{"type": "cron", "expression": f"{i % 60} 0 0 1 1 ? 2099"}],
                    "steps": [{"id": "a", "type": "http", "url": f"http://127.0.0.1:{port}/ping"}],
                }
                for i in range(args.registered)
            ]
            await register(rt, idle)
            print(
                f"registered {args.registered} idle jobs in {time.perf_counter() - t:.1f} s",
                file=sys.stderr,
            )
        fire = (datetime.now(UTC) + timedelta(seconds=args.lead)).replace(
            microsecond=0
        ) + timedelta(seconds=1)
        due = [
            {
                "name": f"due-{i}",
                "triggers": [{"type": "once", "at": fire.isoformat()}],
                "steps": [{"id": "a", "type": "http", "url": f"http://127.0.0.1:{port}/ping"}],
            }
            for i in range(args.jobs)
        ]
        await register(rt, due)
        if datetime.now(UTC) > fire - timedelta(seconds=1.5):
            raise SystemExit("registration took longer than --lead; raise it")
        tune_for_serving()  # as `vecron up` does once it is running
        stop = asyncio.Event()
        scheduler = rt.scheduler()
        await scheduler.tick()  # nothing due yet: what a tick costs with every job registered
        idle_tick = scheduler.last_tick_seconds
        tick_times: list[float] = []
        original_tick = scheduler.tick

        async def timed_tick():  # type: ignore[no-untyped-def]
            report = await original_tick()
            if report.created:
                tick_times.append(scheduler.last_tick_seconds)
            return report

        scheduler.tick = timed_tick  # type: ignore[method-assign]
        tasks = [
            asyncio.create_task(scheduler.run(stop)),
            asyncio.create_task(rt.worker().run(stop)),
        ]
        profiler = None
        if args.profile:
            import cProfile

            await asyncio.sleep(max(0.0, (fire - datetime.now(UTC)).total_seconds() - 0.05))
            profiler = cProfile.Profile()
            profiler.enable()
        while True:
            await asyncio.sleep(0.2)
            done = await rt.store.list_executions(
                status=ExecutionStatus.SUCCEEDED, limit=args.jobs + 10
            )
            if len(done) >= args.jobs or datetime.now(UTC) > fire + timedelta(seconds=120):
                break
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        stop.set()
        await asyncio.gather(*tasks)
        executions = await rt.store.list_executions(limit=args.jobs * 2)
    lateness = [
        ((e.started_at - e.scheduled_at).total_seconds() * 1000)
        for e in executions
        if e.started_at and e.scheduled_at
    ]
    finished = [e.finished_at for e in executions if e.finished_at]
    span = (max(finished) - fire).total_seconds() if finished else float("nan")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/count") as r:
        target = json.load(r)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/arrivals") as r:
        arrived = [(t - fire.timestamp()) * 1000 for t in json.load(r)][-args.jobs :]
    return {
        "jobs_due": args.jobs,
        "registered_jobs": args.registered + args.jobs,
        "worker_concurrency": args.concurrency,
        "succeeded": sum(1 for e in executions if e.status is ExecutionStatus.SUCCEEDED),
        "target_requests": target["requests"],
        "lateness_ms_p50": round(statistics.median(lateness), 2),
        "lateness_ms_p99": round(pct(lateness, 0.99), 2),
        "lateness_ms_max": round(max(lateness), 2),
        "request_arrival_ms_p50": round(statistics.median(arrived), 2),
        "request_arrival_ms_p99": round(pct(arrived, 0.99), 2),
        "executions_per_s": round(len(finished) / span, 1),
        "fire_to_last_finish_s": round(span, 3),
        "idle_tick_ms": round(idle_tick * 1000, 2),
        "scheduler_tick_ms": [round(t * 1000, 1) for t in tick_times[:5]],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=1000, help="jobs due at the same instant")
    parser.add_argument("--registered", type=int, default=0, help="extra idle jobs registered")
    parser.add_argument("--concurrency", type=int, default=1000, help="worker concurrency")
    parser.add_argument("--profile", metavar="FILE", help="cProfile the run from the fire time on")
    parser.add_argument(
        "--lookahead", type=float, default=1.0, help="scheduler look-ahead, seconds"
    )
    parser.add_argument(
        "--lead", type=float, default=6.0, help="seconds between setup and the fire time"
    )
    args = parser.parse_args()
    if args.registered:
        args.lead = max(args.lead, 3 + args.jobs / 500)
    configure_logging("warning", "json")
    proc, port = start_target()
    try:
        with tempfile.TemporaryDirectory() as home:
            result = asyncio.run(bench(args, port, Path(home)))
    finally:
        proc.terminate()
        proc.wait()
    for key, value in result.items():
        print(f"{key:>24}: {value}")


if __name__ == "__main__":
    main()

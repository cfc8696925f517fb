"""Signed webhook deliveries against a real ``vecron up`` (issue #12, acceptance 7).

    uv run python bench/webhooks.py [--rate 500] [--seconds 20] [--warmup 2]
        [--database sqlite|postgres]

Starts ``vecron up`` (API, scheduler and worker in one process) on a fresh database
(SQLite in a temporary folder, or a new PostgreSQL database on
``$VECRON_BENCH_POSTGRES``, dropped at the end), logs in as ``admin``, creates a job
with a ``webhook`` trigger whose limit is far above the rate and one ``files`` step, and
makes its secret. A load generator in its own process signs every delivery beforehand
with the reference ``standardwebhooks`` library (each its own ``webhook-id``) and sends
them open-loop at ``--rate`` a second for ``--seconds`` (after ``--warmup`` seconds of
the same load, not measured); each answer's latency runs from its *scheduled* send
time, so a stall counts for every delivery it held back.

Then it waits until every accepted execution has finished and prints, in ms:

- ``answer``: p50/p90/p99/max of the 202 answer;
- ``fire → start``: p50/p90/p99/max from the execution's creation (the delivery's
  commit) to its start on the worker (``started_at - created_at`` in the store);

and whether nothing was lost: every delivery answered 202 with its own execution, and
every one of those executions exists and succeeded; and the server's CPU time per
delivery (its answer and its execution), which bounds the rate one process sustains.
The goal: p99 <= 10 ms for the answer and <= 50 ms to start, 0 lost.

The server and the load generator share the machine: run it on a quiet one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from math import floor
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from vecron.store.schema import executions

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from api import environment, login, machine_busy, wait_ready  # noqa: E402
from api_load import percentile  # noqa: E402
from lateness import free_port  # noqa: E402
from throughput import drop_database, fresh_database  # noqa: E402

VECRON = str(Path(sys.executable).with_name("vecron"))
ANSWER_GOAL_MS = 10.0
START_GOAL_MS = 50.0
JOB = "bench-webhook"
BODY = json.dumps({"order_id": "B-1", "total": 12.5}).encode()


def job_document() -> dict[str, Any]:
    return {
        "name": JOB,
        "timezone": "UTC",
        "triggers": [{"type": "webhook", "rate": 100_000, "burst": 100_000}],
        "steps": [
            {
                "id": "record",
                "type": "files",
                "rows": [{"order": "fixed"}],
                "output": {"name": "order.csv"},
            }
        ],
        "retry": {"max_attempts": 1},
    }


def call(base: str, method: str, path: str, token: str, data: Any = None) -> Any:
    request = urllib.request.Request(
        f"{base}/api/v1{path}",
        data=None if data is None else json.dumps(data).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


# -- the load generator (its own process) ---------------------------------------------------


def signed(secret: str, count: int, prefix: str) -> list[dict[str, str]]:
    from standardwebhooks import Webhook

    signer = Webhook(secret)
    now = datetime.now(UTC)
    stamp = str(floor(now.timestamp()))
    return [
        {
            "webhook-id": f"{prefix}-{n}",
            "webhook-timestamp": stamp,
            "webhook-signature": signer.sign(f"{prefix}-{n}", now, BODY),
            "Content-Type": "application/json",
        }
        for n in range(count)
    ]


async def generate(plan: dict[str, Any]) -> dict[str, Any]:
    import aiohttp

    rate, seconds, warmup = plan["rate"], plan["seconds"], plan["warmup"]
    warm = signed(plan["secret"], int(rate * warmup), "warm")
    measured = signed(plan["secret"], int(rate * seconds), "bench")
    results: list[tuple[str, int, float, str]] = []
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(plan["url"], connector=connector) as session:
        loop = asyncio.get_running_loop()

        async def send(headers: dict[str, str], due: float, keep: bool) -> None:
            async with session.post(plan["path"], data=BODY, headers=headers) as answer:
                body = await answer.read()
                took = loop.time() - due
            if keep:
                found = json.loads(body).get("execution_id", "") if answer.status == 202 else ""
                results.append((headers["webhook-id"], answer.status, took, found))

        async def run(batch: list[dict[str, str]], keep: bool) -> None:
            start = loop.time()
            tasks = []
            for n, headers in enumerate(batch):
                due = start + n / rate
                if due > loop.time():
                    await asyncio.sleep(due - loop.time())
                tasks.append(asyncio.create_task(send(headers, due, keep)))
            await asyncio.gather(*tasks)

        await run(warm, keep=False)
        began = loop.time()
        await run(measured, keep=True)
        took = loop.time() - began
    return {"results": results, "seconds": took}


# -- the bench ----------------------------------------------------------------------------


async def fire_to_start(url: str, ids: list[str]) -> list[tuple[str, str, float | None]]:
    """(id, status, ms from creation to start) of each execution, from the store."""
    engine = create_async_engine(url)
    found: list[tuple[str, str, float | None]] = []
    try:
        async with engine.connect() as conn:
            for at in range(0, len(ids), 500):
                chunk = ids[at : at + 500]
                query = select(
                    executions.c.id,
                    executions.c.status,
                    executions.c.created_at,
                    executions.c.started_at,
                ).where(executions.c.id.in_(chunk))
                for row in await conn.execute(query):
                    started = None
                    if row.started_at is not None:
                        gap = aware(row.started_at) - aware(row.created_at)
                        started = gap.total_seconds() * 1000
                    found.append((row.id, row.status, started))
    finally:
        await engine.dispose()
    return found


def aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


async def wait_finished(url: str, ids: list[str], timeout: float = 300) -> list[Any]:
    deadline = time.monotonic() + timeout
    while True:
        rows = await fire_to_start(url, ids)
        done = [r for r in rows if r[1] in ("succeeded", "failed", "timed_out", "cancelled")]
        if len(done) == len(ids) or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.5)


def figures(values: list[float]) -> str:
    ordered = sorted(values)
    parts = [f"p{int(q * 100)} {percentile(ordered, q):7.2f}" for q in (0.5, 0.9, 0.99)]
    return "  ".join([*parts, f"max {ordered[-1]:7.2f}" if ordered else "max -"])


async def bench(args: argparse.Namespace) -> int:
    home = Path(tempfile.mkdtemp(prefix="vecron-webhook-bench-"))
    url = (
        f"sqlite+aiosqlite:///{home}/vecron.db"
        if args.database == "sqlite"
        else await fresh_database()
    )
    port = free_port()
    password = secrets.token_urlsafe(16)
    env = environment(url, home, port, password)
    base = f"http://127.0.0.1:{port}"
    server = None
    try:
        busy = machine_busy(1.0)
        if busy is not None:
            print(f"machine busy before the run: {busy:.0%} of all CPUs")
        server = subprocess.Popen(
            [VECRON, "up", "--no-example"],
            env={**os.environ, **env},
            stdout=(home / "up.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        wait_ready(base, server)
        token = login(base, password)
        call(base, "POST", "/jobs", token, job_document())
        made = call(base, "POST", f"/jobs/{JOB}/webhook:regenerate", token)
        plan = {
            "url": base,
            "path": made["path"],
            "secret": made["secret"],
            "rate": args.rate,
            "seconds": args.seconds,
            "warmup": args.warmup,
        }
        print(
            f"vecron up on {args.database}: {args.rate}/s for {args.seconds} s "
            f"(after {args.warmup} s of warm-up)"
        )
        serving = psutil.Process(server.pid)
        cpu_before = sum(serving.cpu_times()[:2])
        load = subprocess.run(
            [sys.executable, __file__, "--generate"],
            input=json.dumps(plan),
            capture_output=True,
            text=True,
            check=True,
        )
        outcome = json.loads(load.stdout)
        results = outcome["results"]
        accepted = [r for r in results if r[1] == 202]
        ids = [r[3] for r in accepted]
        rows = await wait_finished(url, ids)
        cpu = sum(serving.cpu_times()[:2]) - cpu_before
        delivered = args.rate * (args.seconds + args.warmup)
        lost = (len(results) - len(accepted)) + (len(ids) - len(set(ids)))
        succeeded = [r for r in rows if r[1] == "succeeded"]
        lost += len(ids) - len(succeeded)
        answers = [r[2] * 1000 for r in accepted]
        starts = [r[2] for r in rows if r[2] is not None]
        sent = len(results)
        print(f"  sent {sent} in {outcome['seconds']:.1f} s ({sent / outcome['seconds']:.0f}/s)")
        print(f"  answer (ms)        {figures(answers)}")
        print(f"  fire -> start (ms) {figures(starts)}")
        statuses: dict[int, int] = {}
        for r in results:
            statuses[r[1]] = statuses.get(r[1], 0) + 1
        print(f"  answers by status: {statuses}; executions succeeded: {len(succeeded)}")
        print(f"  lost: {lost}")
        print(
            f"  server CPU per delivery, its answer and its execution: "
            f"{cpu / delivered * 1000:.1f} ms (so one vecron up runs at most "
            f"{delivered / cpu:.0f} a second on one core)"
        )
        answer_p99 = percentile(sorted(answers), 0.99) if answers else float("inf")
        start_p99 = percentile(sorted(starts), 0.99) if starts else float("inf")
        met = answer_p99 <= ANSWER_GOAL_MS and start_p99 <= START_GOAL_MS and lost == 0
        print(
            f"goal (answer p99 <= {ANSWER_GOAL_MS:g} ms, start p99 <= {START_GOAL_MS:g} ms, "
            f"0 lost): {'met' if met else 'NOT met'}"
        )
        return 0 if met else 1
    finally:
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(60)
            except subprocess.TimeoutExpired:
                server.kill()
        if args.database == "postgres":
            await drop_database(url)
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=500, help="deliveries a second")
    parser.add_argument("--seconds", type=float, default=20, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2, help="unmeasured seconds first")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        print(json.dumps(asyncio.run(generate(json.load(sys.stdin)))))
        return
    sys.exit(asyncio.run(bench(args)))


if __name__ == "__main__":
    main()

"""The REST API under load on a large database: a real ``vecron up`` with 10,000 jobs and
1,000,000 executions (issue #11, acceptance 8).

    uv run python bench/api.py --database sqlite|postgres [--jobs 10000]
        [--executions 1000000] [--rate 200] [--seconds 10] [--connections 16]

Creates a fresh database (SQLite in a temporary folder; on PostgreSQL a new database on
``$VECRON_BENCH_POSTGRES``, default 127.0.0.1:5432 user postgres, dropped at the end),
runs ``vecron db upgrade``, loads the data set (:mod:`api_data`: jobs through the job
service, executions by bulk inserts), lets the database settle (``ANALYZE``, and
``VACUUM`` on PostgreSQL, as autovacuum would), then starts ``vecron up`` with
``VECRON_ADMIN_PASSWORD``, waits on ``/readyz``, logs in as ``admin`` and measures,
from a load generator in its own process (:mod:`api_load`):

- ``jobs``: ``GET /api/v1/jobs?limit=50`` (a page of jobs with their statistics);
- ``failed``: ``GET /api/v1/executions?job=X&status=failed``, X the most run job;
- ``execution``: ``GET /api/v1/executions/{id}``, ids drawn at random (half from all
  executions, half from those with steps and a Job Context);

each open-loop at ``--rate`` requests/s for ``--seconds`` (latency from the scheduled
send time) and closed-loop with ``--connections`` concurrent connections (saturation).
Prints p50/p90/p99/max (ms) and requests/s per request and mode, and whether the goal
(p99 <= 20 ms at 200 requests/s) held. ``--server-profile FILE`` runs the server under
pyinstrument (``uv run --with pyinstrument``) and writes its text report to FILE;
``--keep`` keeps the database and folder and says how to serve them again.

The server and the load generator share the machine: run it on a quiet one (how busy
the machine is before measuring is printed).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from vecron.runtime import Runtime
from vecron.settings import Settings
from vecron.store.schema import executions
from vecron.telemetry import configure_logging

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from api_data import Loaded, load  # noqa: E402
from lateness import free_port  # noqa: E402
from throughput import drop_database, fresh_database  # noqa: E402

VECRON = str(Path(sys.executable).with_name("vecron"))
GOAL_MS = 20.0


@asynccontextmanager
async def scratch(kind: str, keep: bool) -> AsyncIterator[tuple[str, Path]]:
    """A fresh database and folder, removed afterwards unless ``keep``."""
    home = Path(tempfile.mkdtemp(prefix="vecron-api-bench-"))
    url = f"sqlite+aiosqlite:///{home}/vecron.db" if kind == "sqlite" else await fresh_database()
    try:
        yield url, home
    finally:
        if not keep:
            if kind == "postgres":
                await drop_database(url)
            shutil.rmtree(home)


async def check_untouched(url: str, loaded: Loaded) -> None:
    """The server only read: its scheduler fired none of the loaded jobs and its worker
    ran nothing (a bench that measured that as well would say nothing true)."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            count = (await conn.execute(select(func.count()).select_from(executions))).scalar()
    finally:
        await engine.dispose()
    if count != loaded.executions:
        raise SystemExit(f"the server changed the executions: {count:,}, not {loaded.executions:,}")
    print("  executions unchanged after serving: the server fired and ran nothing")


def keep_environment(home: Path, env: dict[str, str]) -> None:
    """Write the server's environment (its key and the admin password too) to a file
    only the owner reads, and say how to serve the kept data again."""
    kept = home / "bench.env"
    kept.touch(mode=0o600)
    kept.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    print(f"  kept {home}; serve it again: env $(cat {kept}) {VECRON} up --no-example")


def environment(url: str, home: Path, port: int, password: str) -> dict[str, str]:
    """What both the loader and the server are configured with (nothing from the
    caller's vecron.toml)."""
    return {
        "VECRON_DATABASE_URL": url,
        "VECRON_STORAGE_URL": f"file://{home}/storage",
        "VECRON_STATE_DIR": str(home / "state"),
        "VECRON_CONFIG": str(home / "none.toml"),
        "VECRON_PORT": str(port),
        "VECRON_LOG_LEVEL": "warning",
        "VECRON_LOG_FORMAT": "json",
        "VECRON_ADMIN_PASSWORD": password,
        # A key of our own: the server would otherwise generate one and warn.
        "VECRON_SECRET_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }


def settings_of(env: dict[str, str]) -> Settings:
    skip = {"VECRON_CONFIG", "VECRON_ADMIN_PASSWORD"}
    values: dict[str, Any] = {
        k.removeprefix("VECRON_").lower(): v for k, v in env.items() if k not in skip
    }
    return Settings(**values)


async def settle(url: str) -> None:
    """Bring the database to the state it has after a while in service, before the
    server opens it: statistics gathered (SQLite ``ANALYZE``) and, on PostgreSQL, the
    freshly inserted tables vacuumed too, so that autovacuum does not start on them in
    the middle of a measurement."""
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            sql = "VACUUM (ANALYZE)" if engine.dialect.name == "postgresql" else "ANALYZE"
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


def loader_engine(url: str) -> AsyncEngine:
    """The bulk loader's own engine. On SQLite it holds the indexes in memory and does
    not wait for the disk: the database is a scratch one, and the server under test
    opens it with its own settings."""
    engine = create_async_engine(url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def bulk_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA cache_size = -1000000")  # 1 GB
            cursor.execute("PRAGMA synchronous = OFF")
            cursor.close()

    return engine


async def prepare(url: str, env: dict[str, str], args: argparse.Namespace) -> Loaded:
    subprocess.run([VECRON, "db", "upgrade"], env={**os.environ, **env}, check=True)
    engine = loader_engine(url)
    try:
        async with Runtime(settings_of(env)) as rt:
            loaded = await load(
                rt,
                engine,
                job_count=args.jobs,
                execution_count=args.executions,
                with_steps=args.with_steps,
                sample_size=args.sample,
                seed=args.seed,
            )
    finally:
        await engine.dispose()
    began = time.perf_counter()
    await settle(url)
    print(f"  vacuumed and analyzed in {time.perf_counter() - began:.1f} s")
    return loaded


def wait_ready(base: str, server: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"vecron up exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.1)
    raise SystemExit("vecron up was not ready in time")


def login(base: str, password: str) -> str:
    request = urllib.request.Request(
        f"{base}/api/v1/auth/login",
        data=json.dumps({"username": "admin", "password": password}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        token: str = json.load(response)["access_token"]
    return token


def plan(loaded: Loaded, args: argparse.Namespace) -> list[dict[str, Any]]:
    busiest = loaded.busiest[0][0]
    requests = {
        "jobs": ["/api/v1/jobs?limit=50"],
        "failed": [f"/api/v1/executions?job={busiest}&status=failed"],
        "execution": [f"/api/v1/executions/{i}" for i in loaded.sample_ids],
    }
    runs = []
    for name, paths in requests.items():
        runs.append(
            {
                "name": name,
                "paths": paths,
                "mode": "open",
                "rate": args.rate,
                "seconds": args.seconds,
                "warmup": args.warmup,
            }
        )
        runs.append(
            {
                "name": name,
                # Other ids than the open loop's: cached pages would flatter the rate.
                "paths": paths[::-1],
                "mode": "closed",
                "connections": args.connections,
                "seconds": args.seconds,
                "warmup": args.warmup,
            }
        )
    return runs


def machine_busy(seconds: float) -> float | None:
    """The share of all CPUs busy over ``seconds`` (/proc/stat), whoever uses them;
    None where /proc is not."""

    def sample() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle, iowait
        return sum(fields) - idle, sum(fields)

    try:
        busy_before, total_before = sample()
        time.sleep(seconds)
        busy_after, total_after = sample()
    except OSError:
        return None
    return (busy_after - busy_before) / max(1, total_after - total_before)


def generate(base: str, token: str, spec: dict[str, Any]) -> dict[str, Any]:
    """One run of the load generator, in a process of its own."""
    done = subprocess.run(
        [sys.executable, str(HERE / "api_load.py")],
        input=json.dumps({"base": base, "token": token, "runs": [spec]}).encode(),
        capture_output=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def cpu_seconds(pid: int | None) -> float | None:
    """CPU time (user + system) of process ``pid`` so far; None where /proc is not."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu_ms(
    result: dict[str, Any], before: float | None, after: float | None
) -> float | None:
    """The server process's CPU time per request of a run (warm-up included): what
    one request costs it, however busy the machine is. Not the database server's."""
    served = int(result["requests"]) + int(result["warmup_requests"])
    if before is None or after is None or not served:
        return None
    return round((after - before) * 1000 / served, 2)


def serve_and_measure(
    env: dict[str, str], home: Path, loaded: Loaded, args: argparse.Namespace
) -> list[dict[str, Any]]:
    base = f"http://127.0.0.1:{env['VECRON_PORT']}"
    command = [VECRON, "up", "--no-example"]
    if args.server_profile:
        command = [
            "uv", "run", "--with", "pyinstrument", "pyinstrument", "-r", "text",
            "--show-all", "-o", str(Path(args.server_profile).absolute()), VECRON, "up",
            "--no-example",
        ]  # fmt: skip
    server = subprocess.Popen(command, env={**os.environ, **env}, cwd=home)
    try:
        wait_ready(base, server)
        token = login(base, env["VECRON_ADMIN_PASSWORD"])
        # Figures from a busy machine say little: show how busy it is without us.
        busy = machine_busy(2.0)
        if busy is not None:
            print(
                f"  CPU in use before measuring (server idle): {busy:.0%} of {os.cpu_count()} CPUs"
            )
        # Under the profiler the process started is uv's, not the server's.
        pid = None if args.server_profile else server.pid
        results = []
        for spec in plan(loaded, args):
            before = cpu_seconds(pid)
            results.append(generate(base, token, spec))
            after = cpu_seconds(pid)
            results[-1]["cpu_ms"] = server_cpu_ms(results[-1], before, after)
        return results
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def report(backend: str, loaded: Loaded, results: list[dict[str, Any]], rate: float) -> bool:
    busiest, runs = loaded.busiest[0]
    print(
        f"\n{backend}: {loaded.jobs:,} jobs, {loaded.executions:,} executions "
        f"({loaded.step_results:,} step results, {loaded.contexts:,} Job Contexts); "
        f"jobs saved in {loaded.seconds_jobs:.1f} s, executions loaded in "
        f"{loaded.seconds_executions:.1f} s"
    )
    print(
        "  statuses: "
        + ", ".join(f"{k} {v / loaded.executions:.1%}" for k, v in loaded.statuses.most_common())
    )
    print(f"  X = {busiest}: {runs:,} executions, {loaded.failed[busiest]:,} failed")
    print(
        f"  {'request':<10} {'mode':<14} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} "
        f"{'p99 ms':>8} {'max ms':>8} {'errors':>6} {'server CPU ms/req':>17}"
    )
    missed = []
    for r in results:
        mode = f"{rate:g}/s open" if r["mode"] == "open" else "saturation"
        print(
            f"  {r['name']:<10} {mode:<14} {r['per_second']:>8} {r['p50_ms']:>8} "
            f"{r['p90_ms']:>8} {r['p99_ms']:>8} {r['max_ms']:>8} {r['errors']:>6} "
            f"{r['cpu_ms'] if r['cpu_ms'] is not None else '-':>17}"
        )
        if r["errors"]:
            print(f"    first error: {r['first_error']}")
        if r["mode"] == "open" and (r["p99_ms"] > GOAL_MS or r["errors"]):
            missed.append(r["name"])
    verdict = f"MISSED by {', '.join(missed)}" if missed else "held"
    print(f"  goal p99 <= {GOAL_MS:g} ms at {rate:g} requests/s for each request: {verdict}")
    return not missed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--executions", type=int, default=1_000_000)
    parser.add_argument(
        "--with-steps", type=float, default=0.05, help="share of executions with steps"
    )
    parser.add_argument("--rate", type=float, default=200.0, help="open-loop requests/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="per measurement")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured, before each")
    parser.add_argument("--connections", type=int, default=16, help="closed-loop clients")
    parser.add_argument("--sample", type=int, default=20_000, help="execution ids to read")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--server-profile", metavar="FILE", help="pyinstrument the server")
    parser.add_argument(
        "--keep", action="store_true", help="keep the database and folder (to serve again)"
    )
    args = parser.parse_args()
    configure_logging("warning", "json")
    password = secrets.token_urlsafe(18)

    async def measure() -> tuple[Loaded, list[dict[str, Any]]]:
        async with scratch(args.database, args.keep) as (url, home):
            env = environment(url, home, free_port(), password)
            loaded = await prepare(url, env, args)
            results = await asyncio.to_thread(serve_and_measure, env, home, loaded, args)
            await check_untouched(url, loaded)
            if args.keep:
                keep_environment(home, env)
        return loaded, results

    loaded, results = asyncio.run(measure())
    report(args.database, loaded, results, args.rate)


if __name__ == "__main__":
    main()

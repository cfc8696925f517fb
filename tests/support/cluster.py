"""Real vecron processes (``vecron scheduler``, ``vecron worker``) on real backends,
and an HTTP target that counts what reaches it — for crash tests."""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import subprocess
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.support.cli import VECRON, run_vecron
from tests.support.private_servers import stop_process
from tests.support.web import serve
from vecron.settings import Settings


@dataclass
class Target:
    """``GET /ok`` answers at once, ``GET /slow?ms=N`` after N ms; both count each
    ``Idempotency-Key`` (execution:step), so a test sees which step ran how often."""

    url: str = ""
    keys: Counter[str] = field(default_factory=Counter)
    started: Counter[str] = field(default_factory=Counter)

    def app(self) -> web.Application:
        async def ok(request: web.Request) -> web.Response:
            self.keys[request.headers.get("Idempotency-Key", "")] += 1
            return web.json_response({"ok": True})

        async def slow(request: web.Request) -> web.Response:
            key = request.headers.get("Idempotency-Key", "")
            self.started[key] += 1
            await asyncio.sleep(int(request.query.get("ms", "1000")) / 1000)
            self.keys[key] += 1
            return web.json_response({"ok": True})

        app = web.Application()
        app.router.add_get("/ok", ok)
        app.router.add_get("/slow", slow)
        return app


@asynccontextmanager
async def serve_target() -> AsyncIterator[Target]:
    target = Target()
    async with serve(target.app()) as url:
        target.url = url
        yield target


#: The Fernet key of every test cluster (a test's own, never a real one).
TEST_SECRET_KEY = "Zm9yLXRlc3RzLW9ubHktbm90LWEtcmVhbC1rZXktMzI="


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def distributed_env(database_url: str, *, nats_port: int = 4222, **settings: Any) -> dict[str, str]:
    """Settings for processes sharing PostgreSQL, a fresh NATS stream and Redis prefix."""
    name = unique("t")
    env = {
        "VECRON_DATABASE_URL": database_url,
        "VECRON_QUEUE_URL": (
            f"nats://127.0.0.1:{nats_port}?stream=S{name}&subject=vecron.{name}"
            f"&durable=w{name}&ack_wait=30"
        ),
        "VECRON_LOCK_URL": f"redis://127.0.0.1:6379/0?prefix=vecron-{name}",
        "VECRON_LEASE_SECONDS": "3",
        "VECRON_LOCK_TTL": "2",
        "VECRON_RECONCILE_GRACE": "5",
        "VECRON_LOG_FORMAT": "json",
        "VECRON_LOG_LEVEL": "info",
        "VECRON_PORT": "0",
        # A server database needs configured keys (the API seals its signing keys).
        "VECRON_SECRET_KEYS": TEST_SECRET_KEY,
    }
    env.update({f"VECRON_{k.upper()}": str(v) for k, v in settings.items()})
    return env


def settings_of(env: dict[str, str]) -> Settings:
    """The settings a process started with ``env`` reads (for a Runtime of the test)."""
    return Settings(**{k.removeprefix("VECRON_").lower(): v for k, v in env.items()})


class Cluster:
    """Starts and kills vecron processes; each one's log goes to ``<name>.log``."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home = home
        self.env = {**os.environ, **env, "VECRON_CONFIG": str(home / "none.toml")}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.home / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            [VECRON, *args],
            env=self.env,
            cwd=self.home,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        return (self.home / f"{name}.log").read_text(errors="replace")

    def signal(self, name: str, sig: signal.Signals) -> None:
        self.procs[name].send_signal(sig)

    def stop(self, name: str, timeout: float = 30) -> int:
        return stop_process(self.procs[name], timeout)

    def stop_all(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                self.stop(name, timeout=10)

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``vecron ARGS`` with the cluster's settings; ``stdin`` is its input.

        :raises subprocess.CalledProcessError: it exited with an error.
        """
        proc = run_vecron(args, env=self.env, cwd=self.home, stdin=stdin)
        proc.check_returncode()
        return proc


async def until(check: Any, timeout: float = 30, every: float = 0.2) -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(every)

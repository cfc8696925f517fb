"""Issue 3, acceptance 3: a failing target opens its circuit; executions for it wait
instead of hammering it; one half-open probe closes it again."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pluggy
import pytest
from aiohttp import web

from tests.support.engine import apply, run_and_wait, running
from tests.support.web import serve
from vecron.models.execution import ExecutionStatus
from vecron.runtime import Runtime
from vecron.settings import Settings


class Flaky:
    """Answers 503 to the first ``failures`` requests, then 200; notes when each came."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.times: list[float] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.times.append(time.monotonic())
        if len(self.times) <= self.failures:
            return web.Response(status=503, text="down")
        return web.json_response({"ok": True})


@pytest.fixture
async def flaky() -> AsyncIterator[tuple[Flaky, str]]:
    server = Flaky(failures=5)
    app = web.Application()
    app.router.add_get("/", server.handle)
    async with serve(app) as base:
        yield server, f"{base}/"


async def test_open_circuit_holds_executions_until_a_probe_succeeds(
    tmp_path: Path, test_pm: pluggy.PluginManager, flaky: tuple[Flaky, str]
) -> None:
    server, url = flaky
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/v.db",
        port=0,
        breaker_threshold=5,
        breaker_open_seconds=1.0,
    )
    async with Runtime(settings, pm=test_pm) as rt:
        await apply(
            rt,
            {
                "name": "fragile",
                "retry": {"max_attempts": 8, "delay": 0.05, "factor": 1, "jitter": 0},
                "steps": [{"id": "call", "type": "http", "url": url}],
            },
        )
        async with running(rt):
            detail = await run_and_wait(rt, "fragile", timeout=30)
    assert detail.status is ExecutionStatus.SUCCEEDED
    # Five failures opened the circuit; the sixth request is the half-open probe and
    # came only after the open period — no request hammered the target meanwhile.
    assert len(server.times) == 6
    assert server.times[5] - server.times[4] >= 0.9
    # Waiting for the circuit spent no attempts: 5 failed attempts, then the one that worked.
    assert detail.attempt == 6

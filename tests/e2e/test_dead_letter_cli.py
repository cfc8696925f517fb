"""After the retry limit an execution is dead-lettered; `vecron exec rerun` completes it."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.e2e.test_up import eventually, free_port
from tests.support.cli import Cli

pytestmark = pytest.mark.slow


@pytest.fixture
def failing_then_ok() -> Iterator[tuple[str, dict[str, int]]]:
    """A target (in a thread) that answers 500 until ``state["healthy"]`` is set."""
    import asyncio
    import threading

    state = {"requests": 0, "healthy": 0}
    port = free_port()

    async def handle(request: web.Request) -> web.Response:
        state["requests"] += 1
        return web.json_response({"ok": True}) if state["healthy"] else web.Response(status=500)

    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_get("/", handle)
    runner = web.AppRunner(app, access_log=None)

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}/", state
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def test_dead_letter_then_rerun(
    tmp_path: Path, failing_then_ok: tuple[str, dict[str, int]]
) -> None:
    url, state = failing_then_ok
    cli = Cli(tmp_path)
    job = tmp_path / "job.yaml"
    job.write_text(
        "name: flaky-api\n"
        "retry: {max_attempts: 2, delay: 0.1}\n"
        f"steps: [{{id: call, type: http, url: '{url}'}}]\n"
    )
    cli("job", "apply", "-f", str(job))
    proc = cli.popen("up", "--port", str(free_port()), "--no-example")
    try:
        ran = cli("job", "run", "flaky-api", "--json").json()

        def dead() -> Any:
            e = cli("exec", "show", ran["id"], "--json").json()
            return e if e["status"] == "failed" else None

        failed = eventually(dead, timeout=30)
        assert failed["dead_lettered_at"] and failed["attempt"] == 2
        assert state["requests"] == 2  # the retry limit, then no more
        listed = cli("exec", "list", "--status", "failed", "--json").json()
        assert [e["id"] for e in listed] == [ran["id"]]

        state["healthy"] = 1
        again = cli("exec", "rerun", ran["id"], "--json").json()
        assert again["status"] == "queued" and again["dead_lettered_at"] is None

        def succeeded() -> Any:
            e = cli("exec", "show", ran["id"], "--json").json()
            return e if e["status"] == "succeeded" else None

        done = eventually(succeeded, timeout=30)
        assert done["steps"][0]["output"]["status"] == 200
        rerun_twice = cli("exec", "rerun", ran["id"], check=False)
        assert rerun_twice.code == 75 and "not dead-lettered" in rerun_twice.err
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == 0

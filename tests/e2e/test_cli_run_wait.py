"""``vecron job run --wait`` on the embedded queue: nobody else can see the execution, so
the command works it itself — with the scheduler's relay handing each retry to its
worker — and ends when the execution does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.support.cli import Cli
from tests.support.web import serve


@pytest.fixture
async def flaky() -> AsyncIterator[tuple[str, list[int]]]:
    """A target that fails twice (503), then answers."""
    answers: list[int] = []

    async def handle(request: web.Request) -> web.Response:
        status = 503 if len(answers) < 2 else 200
        answers.append(status)
        return web.json_response({"n": len(answers)}, status=status)

    app = web.Application()
    app.router.add_get("/", handle)
    async with serve(app) as base:
        yield base, answers


async def test_every_attempt_runs_here_until_it_succeeds(
    tmp_path: Path, flaky: tuple[str, list[int]]
) -> None:
    base, answers = flaky
    cli = Cli(tmp_path)
    job = tmp_path / "job.yaml"
    job.write_text(
        "name: flaky\n"
        "triggers: [{type: manual}]\n"
        "retry: {max_attempts: 3, delay: 0.2, jitter: 0}\n"
        f"steps: [{{id: call, type: http, url: '{base}/'}}]\n"
    )
    await asyncio.to_thread(cli, "job", "apply", "-f", str(job))
    result = await asyncio.to_thread(
        cli, "job", "run", "flaky", "--wait", "--timeout", "30", "--json"
    )
    view = result.json()
    assert (view["status"], view["attempt"]) == ("succeeded", 3)
    assert answers == [503, 503, 200]
    assert view["steps"][0]["output"]["body"] == {"n": 3}
    # It ran here and nowhere else: nothing is left queued or unpublished.
    listed = (await asyncio.to_thread(cli, "exec", "list", "--json")).json()
    assert [(e["id"], e["status"]) for e in listed] == [(view["id"], "succeeded")]

"""Issue 4, acceptance 2: whatever a secret variable holds, it never shows in any CLI
output, any log line, the stored Job Context, or anything else written to disk.

A two-step job sends the secret to a target that echoes it back (into the step output)
and then refuses it with a 400 whose body repeats it (into the step error).
"""

from __future__ import annotations

import asyncio
import io
import json
import tempfile
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.support.engine import running
from tests.support.web import serve
from vecron.cli.app import app
from vecron.models.execution import ExecutionStatus
from vecron.runtime import Runtime
from vecron.settings import Settings
from vecron.telemetry import configure_logging

# Printable text without surrogates; long enough to be masked (MIN_SECRET_LENGTH) and
# not made of the mask's own characters or spaces alone.
secrets = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")),
    min_size=6,
    max_size=40,
).filter(lambda s: s.strip(" *") != "" and s == s.strip())


def forms(secret: str) -> set[str]:
    """The secret as it would appear raw, JSON-escaped, or ASCII-escaped in JSON."""
    return {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }


def leaks(secret: str, text: str) -> bool:
    return any(form in text for form in forms(secret))


def target() -> web.Application:
    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"echo": await request.json()})

    async def reject(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response({"error": f"token {body['token']} refused"}, status=400)

    application = web.Application()
    application.router.add_post("/echo", echo)
    application.router.add_post("/reject", reject)
    return application


JOB: dict[str, Any] = {
    "name": "leaky",
    "retry": {"max_attempts": 1},
    "steps": [
        {
            "id": "send",
            "type": "http",
            "method": "POST",
            "url": "{{ vars.BASE }}/echo",
            "json": {"token": "{{ vars.TOKEN }}"},
        },
        {
            "id": "refused",
            "type": "http",
            "method": "POST",
            "url": "{{ vars.BASE }}/reject",
            "json": {"token": "{{ vars.TOKEN }}", "seen": "{{ steps.send.output.body }}"},
        },
    ],
}


async def run_job(settings: Settings, secret: str) -> str:
    async with serve(target()) as base, Runtime(settings) as rt:
        await rt.variables.set("BASE", base)
        await rt.variables.set("TOKEN", secret, secret=True)
        await rt.jobs.save(rt.jobs.parse(JOB))
        async with running(rt):
            execution, _ = await rt.jobs.run_now("leaky", triggered_by="test")
            detail = await rt.executions.wait(execution.id, timeout=30)
    assert detail.execution.status is ExecutionStatus.FAILED
    assert detail.steps[0].output is not None  # the echo came back, masked
    assert "refused" in (detail.steps[1].error or "")
    return execution.id


def invoke_all(cli: CliRunner, execution_id: str, env: dict[str, str]) -> dict[str, str]:
    outputs: dict[str, str] = {}
    for args in (
        ["exec", "show", execution_id],
        ["exec", "show", execution_id, "--json"],
        ["exec", "list", "--json"],
        ["var", "list"],
        ["var", "list", "--json"],
        ["var", "get", "TOKEN"],
        ["job", "show", "leaky"],
    ):
        result = cli.invoke(app, args, env=env)
        assert result.exit_code == 0, (args, result.output)
        outputs[" ".join(args)] = result.output
    return outputs


@settings(max_examples=8, suppress_health_check=[HealthCheck.too_slow])
@given(secret=secrets)
def test_a_secret_never_leaks(secret: str) -> None:
    with tempfile.TemporaryDirectory(prefix="vecron-mask-") as home:
        check_nothing_leaks(Path(home), secret)


def check_nothing_leaks(home: Path, secret: str) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{home}/v.db",
        storage_url=f"file://{home}/storage",
        port=0,
    )
    logs = io.StringIO()
    configure_logging("debug", "json", stream=logs)
    try:
        execution_id = asyncio.run(run_job(settings, secret))
    finally:
        structlog.reset_defaults()
    env = {
        "VECRON_DATABASE_URL": settings.database_url,
        "VECRON_STORAGE_URL": settings.storage_url,
        "VECRON_CONFIG": str(home / "none.toml"),
        "VECRON_LOG_LEVEL": "debug",
        "COLUMNS": "300",
    }
    try:
        outputs = invoke_all(CliRunner(), execution_id, env)
    finally:
        # The CLI pointed structlog at CliRunner's stream, closed once it returns.
        structlog.reset_defaults()
    # The CLI shows the execution, with the echoed output and the error, masked.
    shown = json.loads(outputs[f"exec show {execution_id} --json"])
    assert shown["steps"][0]["output"]["body"]["echo"]["token"] == "**********"
    assert "**********" in shown["steps"][1]["error"]
    for name, text in outputs.items():
        assert not leaks(secret, text), f"`vecron {name}` printed the secret"
    lines = logs.getvalue().splitlines()
    assert any("execution finished" in line for line in lines)
    for line in lines:
        assert not leaks(secret, line), f"a log line holds the secret: {line}"
    # Nothing on disk holds it: database (and its WAL), context, job versions.
    files = [f for f in home.rglob("*") if f.is_file()]
    assert any(f.name == "context.json" for f in files)
    for file in files:
        data = file.read_bytes().decode("utf-8", "replace")
        assert not leaks(secret, data), f"{file.relative_to(home)} holds the secret"

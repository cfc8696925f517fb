"""Issue 4, acceptance 2, and issue 9, acceptance 3: whatever a secret variable holds, it
never shows — as written or in any encoding — in any CLI output, any log line, the
database, the stored Job Context, or anything else written to disk.

Jobs send the secret to a target that echoes it back in every encoding there is: into
step outputs (as JSON, in a basic-auth header, in a body with a NUL byte, stored as
base64) and into step errors (JSON-escaped twice, URL- and form-encoded, and cut by the
500-character excerpt in the middle of the secret).
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import structlog
from aiohttp import web
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.support.cli import logging_restored
from tests.support.engine import running
from tests.support.spellings import base64_spellings, exposed, plain_spellings
from tests.support.web import serve
from vecron.auth import LOCAL_OPERATOR
from vecron.cli.app import app
from vecron.models.execution import ExecutionStatus
from vecron.runtime import Runtime
from vecron.settings import Settings
from vecron.telemetry import configure_logging
from vecron.templates import maskable

_CHARS = st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00")
# Any value vecron takes as a secret, with one character outside ASCII: a 3-character
# ASCII secret such as "000" is in timestamps and ids on disk, a false alarm.
secrets = st.builds(
    lambda head, rare, tail: head + rare + tail,
    st.text(_CHARS, max_size=12),
    st.characters(min_codepoint=0x80, exclude_categories=("Cs",)),
    st.text(_CHARS, max_size=12),
).filter(lambda s: maskable(s) and s.strip(" *") != "")

#: Where the /long target puts the secret, in the 500-character excerpt of its body.
CUT = 499
PAD = "#"


def echoes(secret: str) -> str:
    """Every spelling of the secret, on one line (the target echoes them all)."""
    return " ".join({**plain_spellings(secret), **base64_spellings(secret)}.values())


def target() -> web.Application:
    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"echo": await request.json()})

    async def reject(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response({"error": f"token {body['token']} refused"}, status=400)

    async def twice(request: web.Request) -> web.Response:
        # The body is `vars | tojson`: quoted again here, and once more by the error.
        return web.json_response({"error": f"cannot use {await request.text()}"}, status=400)

    async def binary(request: web.Request) -> web.Response:
        token = (await request.json())["token"]
        body = b"\x00\xff" + echoes(token).encode()
        return web.Response(body=body, content_type="application/octet-stream")

    async def basic(request: web.Request) -> web.Response:
        header = request.headers["Authorization"]
        return web.json_response({"you sent": header})

    async def form(request: web.Request) -> web.Response:
        sent = (await request.read()).decode()
        token = (await request.post())["token"]
        assert isinstance(token, str)
        text = f"query {request.query_string} form {sent} {quote(token)} {quote_plus(token)}"
        return web.Response(text=text, status=400)

    async def long(request: web.Request) -> web.Response:
        token = (await request.json())["token"]
        # The excerpt folds whitespace: the secret straddles its cut once folded too.
        before = PAD * (CUT - len(" ".join(token.split())) // 2)
        return web.Response(text=before + token + " " + echoes(token), status=400)

    application = web.Application()
    for path, handler in [
        ("/echo", echo),
        ("/reject", reject),
        ("/twice", twice),
        ("/binary", binary),
        ("/basic", basic),
        ("/form", form),
        ("/long", long),
    ]:
        application.router.add_post(path, handler)
    return application


def step(step_id: str, path: str) -> dict[str, Any]:
    return {"id": step_id, "type": "http", "method": "POST", "url": "{{ vars.BASE }}" + path}


TOKEN_JSON = {"json": {"token": "{{ vars.TOKEN }}"}}

JOBS: list[dict[str, Any]] = [
    {
        "name": "leaky",
        "retry": {"max_attempts": 1},
        "steps": [
            {**step("send", "/echo"), **TOKEN_JSON},
            {**step("binary", "/binary"), **TOKEN_JSON},
            {
                **step("basic", "/basic"),
                "auth": {"type": "basic", "username": "user", "password": "{{ vars.TOKEN }}"},
            },
            {
                **step("refused", "/reject"),
                "json": {"token": "{{ vars.TOKEN }}", "seen": "{{ steps.send.output.body }}"},
            },
        ],
    },
    {
        "name": "twice",
        "retry": {"max_attempts": 1},
        "steps": [{**step("twice", "/twice"), "body": "{{ vars | tojson }}"}],
    },
    {
        "name": "form",
        "retry": {"max_attempts": 1},
        "steps": [
            {
                **step("form", "/form?token={{ vars.TOKEN | urlencode }}"),
                "form": {"token": "{{ vars.TOKEN }}"},
            }
        ],
    },
    {
        "name": "long",
        "retry": {"max_attempts": 1},
        "steps": [{**step("long", "/long"), **TOKEN_JSON}],
    },
]


async def run_jobs(settings: Settings, secret: str) -> dict[str, str]:
    """Run every job at once; their execution ids, by job name."""
    async with serve(target()) as base, Runtime(settings) as rt:
        await rt.variables.set(LOCAL_OPERATOR, "BASE", base)
        await rt.variables.set(LOCAL_OPERATOR, "TOKEN", secret, secret=True)
        for job in JOBS:
            await rt.jobs.save(LOCAL_OPERATOR, rt.jobs.parse(job))
        async with running(rt):
            started = {
                job["name"]: (
                    await rt.triggers.fire(LOCAL_OPERATOR, job["name"], by="test", kind="manual")
                ).execution
                for job in JOBS
            }
            details = {
                name: await rt.executions.wait(LOCAL_OPERATOR, execution.id, timeout=30)
                for name, execution in started.items()
            }
    for detail in details.values():
        assert detail.status is ExecutionStatus.FAILED
    leaky = details["leaky"].steps
    assert [s.step_id for s in leaky] == ["send", "binary", "basic", "refused"]
    assert leaky[0].output is not None  # the echo came back, masked
    assert "refused" in (leaky[3].error or "")
    assert "cannot use" in (details["twice"].steps[0].error or "")
    assert "query token=" in (details["form"].steps[0].error or "")
    return {name: execution.id for name, execution in started.items()}


def invoke_all(cli: CliRunner, executions: dict[str, str], env: dict[str, str]) -> dict[str, str]:
    outputs: dict[str, str] = {}
    commands = [["exec", "list", "--json"], ["var", "list"], ["var", "list", "--json"]]
    commands += [["var", "get", "TOKEN"], ["job", "show", "leaky"]]
    for execution_id in executions.values():
        commands += [["exec", "show", execution_id], ["exec", "show", execution_id, "--json"]]
    for args in commands:
        result = cli.invoke(app, args, env=env)
        assert result.exit_code == 0, (args, result.output)
        outputs[" ".join(args)] = result.output
    return outputs


@settings(max_examples=6, suppress_health_check=[HealthCheck.too_slow])
@given(secret=secrets)
@example(secret="ab€")  # as short as a secret may be
@example(secret='q"\\\n+%&')  # quotes, a backslash, a newline and what URLs encode
@example(secret="a b+c%20&d=é/?")  # form encoding: a space is "+", "+" is "%2B"
@example(secret="é😀\u2028\t")  # beyond the BMP: a surrogate pair once quoted
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
        executions = asyncio.run(run_jobs(settings, secret))
    finally:
        structlog.reset_defaults()
    env = {
        "VECRON_DATABASE_URL": settings.database_url,
        "VECRON_STORAGE_URL": settings.storage_url,
        "VECRON_CONFIG": str(home / "none.toml"),
        "VECRON_LOG_LEVEL": "debug",
        "COLUMNS": "300",
    }
    with logging_restored():
        outputs = invoke_all(CliRunner(), executions, env)
    shown = {
        name: json.loads(outputs[f"exec show {execution_id} --json"])
        for name, execution_id in executions.items()
    }
    # The CLI shows the executions, with the echoed outputs and the errors, masked.
    leaky = shown["leaky"]["steps"]
    assert leaky[0]["output"]["body"]["echo"]["token"] == "**********"
    assert leaky[1]["output"]["body_base64"] is True
    # "user:" stays readable at the start of the header, not a bit of the secret.
    assert re.fullmatch(r"Basic [A-Za-z0-9]*\*{10}=*", leaky[2]["output"]["body"]["you sent"])
    assert "**********" in leaky[3]["error"]
    for name in ("twice", "form"):
        assert "**********" in shown[name]["steps"][0]["error"], name
    # Cut in the middle of the secret, the excerpt ends in the mask, not half of it.
    cut = shown["long"]["steps"][0]["error"]
    assert re.search(rf": {PAD}+\*+…$", cut), cut
    for name, text in outputs.items():
        assert not exposed(text, secret), f"`vecron {name}` printed the secret"
    lines = logs.getvalue().splitlines()
    assert sum("execution finished" in line for line in lines) == len(executions)
    for line in lines:
        assert not exposed(line, secret), f"a log line holds the secret: {line}"
    # Nothing on disk holds it: database (and its WAL), contexts, job versions.
    files = [f for f in home.rglob("*") if f.is_file()]
    assert sum(f.name == "context.json" for f in files) == len(executions)
    for file in files:
        data = file.read_bytes().decode("utf-8", "replace")
        found = exposed(data, secret)
        assert not found, f"{file.relative_to(home)} holds the secret as {found}"

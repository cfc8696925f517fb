"""Acceptance 3: what the CLI prints with ``--json`` is exactly the service's view.

State is made through the real ``vecron`` command (jobs, a run, variables) and the
scheduler (a ledger); then every reading command's ``--json`` output is compared with
the view the service returns in this process, on the same database and storage. The
REST API returns these same views, so the CLI and the API cannot disagree.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pydantic import BaseModel

from tests.support.cli import Cli
from tests.support.web import serve
from vecron.auth import LOCAL_OPERATOR as OPERATOR
from vecron.runtime import Runtime
from vecron.secrets.redaction import MASK
from vecron.services.views import Page
from vecron.settings import Settings

pytestmark = pytest.mark.slow

CONFIG_SECRET = "config-secret-7f3a"
VARIABLE_SECRET = "variable-secret-91c2"


def view_json(view: BaseModel | Sequence[BaseModel]) -> Any:
    if isinstance(view, BaseModel):
        return view.model_dump(mode="json")
    return [v.model_dump(mode="json") for v in view]


async def items(page: Awaitable[Page[Any]]) -> list[Any]:
    """The CLI prints a listing's items, every page of them (here all fit in one)."""
    found = await page
    assert found.next_cursor is None
    return found.items


@pytest.fixture
async def target() -> AsyncIterator[str]:
    async def ok(request: web.Request) -> web.Response:
        return web.json_response({"seen": request.headers.get("Authorization", "")[:6]})

    app = web.Application()
    app.router.add_get("/ok", ok)
    async with serve(app) as base:
        yield base


async def test_every_json_output_is_the_service_view(tmp_path: Path, target: str) -> None:
    cli = Cli(tmp_path)

    async def run_cli(*args: str) -> Any:
        # The target answers in this event loop: run the command beside it.
        result = await asyncio.to_thread(cli, *args)
        return result.json()

    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "api.yaml").write_text(
        "name: api\n"
        "triggers: [{type: manual}]\n"
        "retry: {max_attempts: 1}\n"
        "steps:\n"
        "  - id: call\n"
        "    type: http\n"
        "    url: '{{ vars.BASE }}/ok'\n"
        f"    auth: {{type: bearer, token: {CONFIG_SECRET}}}\n"
    )
    (tmp_path / "jobs" / "ticker.yaml").write_text(
        "name: ticker\n"
        "triggers: [{type: cron, expression: '0 * * * * ?'}]\n"
        "policy: {misfire: run_all, misfire_grace: 3600}\n"
        "steps: [{id: noop, type: http, url: 'http://127.0.0.1:9/'}]\n"
    )
    await run_cli("job", "apply", "-f", str(tmp_path / "jobs"), "--json")
    await run_cli("var", "set", "BASE", target, "--json")
    await run_cli("var", "set", "TOKEN", VARIABLE_SECRET, "--job", "api", "--secret", "--json")
    ran = await run_cli("job", "run", "api", "--wait", "--json", "--timeout", "30")
    assert ran["status"] == "succeeded", ran

    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/vecron.db",
        storage_url=f"file://{tmp_path}/storage",
        port=0,
    )
    async with Runtime(settings) as rt:
        # The ledger: the ticker's last hour of minutes comes due at one tick (run_all).
        ticker = await rt.store.get_job("ticker")
        past = datetime.now(UTC) - timedelta(minutes=3)
        await rt.store.set_enabled(ticker.id, True, next_fire_at=past, now=past)
        assert (await rt.scheduler().tick()).created

        agree: list[tuple[Sequence[str], Callable[[], Awaitable[Any]]]] = [
            (("job", "list"), lambda: items(rt.jobs.list_jobs(OPERATOR))),
            (("job", "show", "api"), lambda: rt.jobs.get(OPERATOR, "api")),
            (("job", "ledger", "ticker"), lambda: rt.jobs.ledger(OPERATOR, "ticker", limit=50)),
            (
                ("job", "apply", "-f", str(tmp_path / "jobs"), "--dry-run"),
                lambda: rt.jobs.apply(OPERATOR, tmp_path / "jobs", dry_run=True),
            ),
            (("exec", "list"), lambda: items(rt.executions.list_executions(OPERATOR))),
            (
                ("exec", "list", "--job", "api", "--status", "succeeded"),
                lambda: items(
                    rt.executions.list_executions(OPERATOR, job="api", status="succeeded")
                ),
            ),
            (
                ("exec", "show", ran["id"]),
                lambda: rt.executions.get(OPERATOR, ran["id"], context=True),
            ),
            (("var", "list"), lambda: rt.variables.list(OPERATOR)),
            (("var", "get", "BASE"), lambda: rt.variables.get(OPERATOR, "BASE")),
            (
                ("var", "get", "TOKEN", "--job", "api"),
                lambda: rt.variables.get(OPERATOR, "TOKEN", job="api"),
            ),
            (
                (
                    "schedule",
                    "explain",
                    "0 30 2 * * ?",
                    "--tz",
                    "Europe/Berlin",
                    "-n",
                    "3",
                    "--after",
                    "2026-03-28T00:00:00",
                ),
                lambda: asyncio.sleep(
                    0,
                    rt.schedules.explain(
                        {"type": "cron", "expression": "0 30 2 * * ?"},
                        timezone="Europe/Berlin",
                        count=3,
                        after=datetime(2026, 3, 28),
                    ),
                ),
            ),
            (("audit", "list"), lambda: items(rt.audit.list(OPERATOR))),
        ]
        outputs: dict[str, Any] = {}
        for command, service_call in agree:
            printed = await run_cli(*command, "--json")
            expected = view_json(await service_call())
            assert printed == expected, " ".join(command)
            outputs[" ".join(command[:2])] = printed

    # The views hold what they promise, so the equality above says something.
    shown = outputs["job show"]
    assert shown["definition"]["steps"][0]["auth"]["token"] == MASK
    assert CONFIG_SECRET not in str(outputs)
    assert VARIABLE_SECRET not in str(outputs)
    detail = outputs["exec show"]
    assert [s["step_id"] for s in detail["steps"]] == ["call"]
    assert detail["steps"][0]["output"]["body"] == {"seen": "Bearer"}
    assert detail["context"]["steps"]["call"]["status"] == "succeeded"
    assert {e["status"] for e in outputs["job ledger"]} >= {"fired"}
    assert {v["name"]: v["value"] for v in outputs["var list"]} == {"BASE": target, "TOKEN": MASK}
    assert {(e["action"], e["resource"]) for e in outputs["audit list"]} >= {
        ("job.create", "job:api"),
        ("job.run", "job:api"),
        ("variable.set", "variable:api/TOKEN"),
    }

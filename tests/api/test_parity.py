"""Acceptance 6: for a job, an execution, variables and the job's ledger, the API's JSON is
exactly what the CLI prints with ``--json`` for the same object — both render the service's
view. The real ``vecron`` command runs on the database and storage the API serves."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.api.harness import PREFIX, Api
from tests.api.world import build_world, job_document
from tests.support.cli import Cli
from vecron import LOCAL_OPERATOR
from vecron.secrets.redaction import MASK

pytestmark = pytest.mark.slow

ADMIN = {"Authorization": "Bearer static-admin"}


async def ledger_of_a_ticking_job(api: Api) -> str:
    """A cron job whose last minutes all came due at one scheduler tick: fired entries."""
    rt = api.runtime
    document = job_document(
        "ticker",
        triggers=[{"type": "cron", "expression": "0 * * * * ?"}],
        policy={"misfire": "run_all", "misfire_grace": 3600},
    )
    await rt.jobs.save(LOCAL_OPERATOR, rt.jobs.parse(document))
    ticker = await rt.store.get_job("ticker")
    past = datetime.now(UTC) - timedelta(minutes=3)
    await rt.store.set_enabled(ticker.id, True, next_fire_at=past, now=past)
    assert (await rt.scheduler().tick()).created
    return "ticker"


async def test_the_api_json_is_the_cli_json(api: Api, tmp_path: Path) -> None:
    world = await build_world(api.runtime)
    ticker = await ledger_of_a_ticking_job(api)
    cli = Cli(tmp_path)
    cli.env["VECRON_STATE_DIR"] = str(tmp_path / "state")  # the API's secret keys

    async def printed(*args: str) -> Any:
        return (await asyncio.to_thread(cli, *args, "--json")).json()

    async def served(path: str) -> Any:
        answer = await api.client.get(PREFIX + path, headers=ADMIN)
        assert answer.status == 200, f"{path}: {await answer.text()}"
        return await answer.json()

    pairs: list[tuple[tuple[str, ...], str]] = [
        (("job", "show", world.job), f"/jobs/{world.job}"),
        (("exec", "show", world.finished), f"/executions/{world.finished}"),
        (("var", "get", world.variable), f"/variables/global/{world.variable}"),
        (
            ("var", "get", world.secret, "--job", world.job),
            f"/variables/{world.job}/{world.secret}",
        ),
        (("var", "list"), "/variables"),
        (("job", "ledger", ticker, "--limit", "50"), f"/jobs/{ticker}/ledger?limit=50"),
    ]
    seen: dict[str, Any] = {}
    for command, path in pairs:
        from_cli, from_api = await printed(*command), await served(path)
        assert from_api == from_cli, " ".join(command)
        seen[" ".join(command[:2])] = from_api
    # Listings: the API's page holds what the CLI prints (every item fits in one page).
    for command, path in [
        (("job", "list"), "/jobs"),
        (("exec", "list", "--job", world.job), f"/executions?job={world.job}"),
    ]:
        page = await served(path)
        assert page["next_cursor"] is None
        assert page["items"] == await printed(*command), " ".join(command)

    # What was compared holds what it promises, so the equality above says something.
    assert seen["exec show"]["status"] == "succeeded"
    assert [step["step_id"] for step in seen["exec show"]["steps"]] == ["export"]
    assert seen["job show"]["name"] == world.job
    assert seen["var get"]["value"] == MASK
    assert {entry["status"] for entry in seen["job ledger"]} == {"fired"}
    assert len(seen["job ledger"]) >= 2

"""``POST /jobs:export`` and ``POST /jobs:import`` (issue 12): each bad input one problem
document with nothing saved (acceptance 6), a 50 MB export 413 under the API's body
limit, and the API's export is what ``vecron job export --json`` prints."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.api.harness import PREFIX, Api, expect_problem
from tests.support.cli import Cli
from tests.support.exports import BAD, export, huge, job
from vecron import LOCAL_OPERATOR

ADMIN = {"Authorization": "Bearer static-admin"}
#: What the API answers for each bad input: status and problem code (of the one error).
ANSWERS = {
    "invalid JSON": (400, "malformed-body", "malformed-body"),
    "unknown step type": (422, "validation", "unknown-step-type"),
    "newer format": (422, "validation", "format-version-newer"),
}


async def jobs_in(api: Api) -> list[str]:
    return [j.name for j in await api.runtime.store.list_jobs()]


def import_body(content: bytes) -> bytes:
    """The request around an export's bytes, as a client that streams the file sends it."""
    return b'{"on_conflict": "fail", "document": ' + content + b"}"


@pytest.mark.parametrize("case", sorted(BAD))
async def test_bad_input_is_one_problem_and_saves_nothing(api: Api, case: str) -> None:
    content, _, words = BAD[case]
    status, code, problem_code = ANSWERS[case]
    answer = await api.client.post(
        PREFIX + "/jobs:import",
        data=import_body(content),
        headers={**ADMIN, "Content-Type": "application/json"},
    )
    problem = await expect_problem(answer, status, code)
    [error] = problem["errors"]
    assert error["code"] == problem_code
    if case != "invalid JSON":  # the API's own parser words its message
        assert words in problem["detail"] or words in error["message"]
    assert await jobs_in(api) == []


async def test_a_50_mb_export_is_413(api: Api) -> None:
    answer = await api.client.post(
        PREFIX + "/jobs:import",
        data=import_body(huge()),
        headers={**ADMIN, "Content-Type": "application/json"},
    )
    problem = await expect_problem(answer, 413, "body-too-large")
    assert "api_max_body_bytes" in problem["detail"]
    assert await jobs_in(api) == []


async def test_round_trip_through_the_api(api: Api) -> None:
    rt = api.runtime
    document = job(
        "keyed",
        steps=[
            {
                "id": "call",
                "type": "http",
                "url": "https://api.example.com",
                "secret_headers": {"X-Api-Key": "k3y-ÿes"},
            },
        ],
    )
    await rt.jobs.save(LOCAL_OPERATOR, rt.jobs.parse(document))
    answer = await api.client.post(
        PREFIX + "/jobs:export", json={"names": ["keyed"]}, headers=ADMIN
    )
    assert answer.status == 200
    exported = await answer.json()
    assert "k3y-ÿes" not in json.dumps(exported, ensure_ascii=False)
    assert exported["secrets"] == ["keyed/steps.call.secret_headers.X-Api-Key"]

    body = {
        "document": exported,
        "on_conflict": "rename",
        "secrets": {"keyed/steps.call.secret_headers.X-Api-Key": "k3y-ÿes"},
    }
    answer = await api.client.post(PREFIX + "/jobs:import", json=body, headers=ADMIN)
    assert answer.status == 200, await answer.text()
    report = await answer.json()
    assert [(j["saved_as"], j["change"]) for j in report["jobs"]] == [("keyed-2", "created")]
    copy = await rt.store.get_job("keyed-2")
    original = await rt.store.get_job("keyed")
    assert copy.definition == original.definition.model_copy(update={"name": "keyed-2"})

    # A viewer may export (job:read, variable:read) but not import (job:write).
    viewer = {"Authorization": "Bearer static-viewer"}
    answer = await api.client.post(PREFIX + "/jobs:import", json=body, headers=viewer)
    await expect_problem(answer, 403, "forbidden")


@pytest.mark.slow
async def test_the_api_export_is_the_cli_export(api: Api, tmp_path: Path) -> None:
    rt = api.runtime
    await rt.jobs.save(LOCAL_OPERATOR, rt.jobs.parse(job("same")))
    await rt.variables.set(LOCAL_OPERATOR, "PIN", "p1n-value-ü", job="same", secret=True)
    cli = Cli(tmp_path)
    cli.env["VECRON_STATE_DIR"] = str(tmp_path / "state")  # the API's secret keys

    printed: Any = (await asyncio.to_thread(cli, "job", "export", "same", "--json")).json()
    answer = await api.client.post(PREFIX + "/jobs:export", json={"names": ["same"]}, headers=ADMIN)
    served = await answer.json()
    for document in (printed, served):
        document.pop("exported_at")
    assert served == {**printed, "exported_by": served["exported_by"]}
    assert printed["exported_by"] == LOCAL_OPERATOR.subject
    assert served["secrets"] == ["same/vars.PIN"]

    body = {"document": export(job("one")), "on_conflict": "fail"}
    from_api = await api.client.post(PREFIX + "/jobs:import", json=body, headers=ADMIN)
    (tmp_path / "one.json").write_text(json.dumps(export(job("two"))))
    from_cli = (await asyncio.to_thread(cli, "job", "import", "one.json", "--json")).json()
    [api_job], [cli_job] = (await from_api.json())["jobs"], from_cli["jobs"]
    assert {**api_job, "name": "two", "saved_as": "two"} == cli_job

"""``vecron job export`` / ``vecron job import`` as a user runs them (issue 12): a file
named by its time, secrets supplied by option and by file, and each bad input one line
on stderr with nothing saved (acceptance 6)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import Cli, logging_restored
from tests.support.exports import BAD, FIFTY_MB, export, huge
from vecron.runtime import Runtime
from vecron.settings import Settings

SECRET_JOB = {
    "name": "pull",
    "steps": [
        {
            "id": "fetch",
            "type": "http",
            "url": "https://api.example.com/orders",
            "auth": {"type": "basic", "username": "shop", "password": "pässwort-42"},
        }
    ],
    "triggers": [{"type": "cron", "expression": "0 0 6 * * ?"}],
}


def jobs_in(cli: Cli) -> list[str]:
    return [job["name"] for job in cli("job", "list", "--json").json()]


def one_error_line(err: str) -> str:
    """The CLI's error: exactly one line that says so (log lines are JSON on stderr)."""
    lines = [line for line in err.splitlines() if not line.startswith("{")]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_export_to_a_timestamped_file_and_import_elsewhere(tmp_path: Path) -> None:
    source, target = Cli(tmp_path / "a"), Cli(tmp_path / "b")
    for cli in (source, target):
        cli.home.mkdir()
    (source.home / "pull.json").write_text(json.dumps(SECRET_JOB))
    source("job", "apply", "-f", "pull.json")
    source("var", "set", "TOKEN", "t0ken-ßecret", "--job", "pull", "--secret")

    printed = source("job", "export", "pull").out
    [written] = list(source.home.glob("vecron-jobs-*.json"))
    assert re.fullmatch(r"vecron-jobs-\d{8}T\d{6}Z\.json", written.name)
    assert written.name in printed and "pull/vars.TOKEN" in printed
    text = written.read_text()
    assert "pässwort-42" not in text and "t0ken-ßecret" not in text

    export = tmp_path / "pull-export.json"
    export.write_text(text)
    refused = target("job", "import", str(export), check=False)
    assert refused.code == 65
    line = one_error_line(refused.err)
    assert "pull/steps.fetch.auth.password" in line and "--secrets-file" in line
    assert jobs_in(target) == []

    secrets_file = tmp_path / "secrets.json"
    secrets_file.write_text(json.dumps({"pull/vars.TOKEN": "t0ken-ßecret"}))
    given = (
        "--secrets-file",
        str(secrets_file),
        "--secret",
        "pull/steps.fetch.auth.password=pässwort-42",
    )
    report = target("job", "import", str(export), *given, "--json").json()
    assert [(j["saved_as"], j["change"]) for j in report["jobs"]] == [("pull", "created")]
    revealed = target("var", "get", "TOKEN", "--job", "pull", "--reveal", "--json").json()
    assert revealed["value"] == "t0ken-ßecret"
    shown = [cli("job", "show", "pull", "--json").json()["definition"] for cli in (source, target)]
    assert shown[0] == shown[1]

    again = target("job", "import", str(export), *given, check=False)
    assert again.code == 75 and "--on-conflict rename" in one_error_line(again.err)


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_and_saves_nothing(tmp_path: Path, case: str) -> None:
    cli = Cli(tmp_path)
    content, _, words = BAD[case]
    (tmp_path / "export.json").write_bytes(content)
    result = cli("job", "import", "export.json", check=False)
    assert result.code == 65, result.err
    assert words in one_error_line(result.err)
    assert jobs_in(cli) == []


def test_a_50_mb_export_is_refused_before_it_is_read(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    (tmp_path / "export.json").write_bytes(huge())
    assert (tmp_path / "export.json").stat().st_size > FIFTY_MB - 2000
    result = cli("job", "import", "export.json", check=False)
    assert result.code == 65
    line = one_error_line(result.err)
    assert "the limit is 10,485,760 (setting api_max_body_bytes)" in line
    assert jobs_in(cli) == []


def test_import_asks_for_each_secret_not_given_without_echoing_it(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from vecron.cli.app import app

    step = {
        "id": "call",
        "type": "http",
        "url": "https://api.example.com",
        "auth": {"type": "bearer", "token": {"$secret": "asked/steps.call.auth.token"}},
    }
    document = export({"name": "asked", "steps": [step]})
    document["jobs"][0]["variables"] = [
        {"name": "PIN", "secret": True, "value": {"$secret": "asked/vars.PIN"}},
    ]
    (tmp_path / "asked.json").write_text(json.dumps(document))
    cli = Cli(tmp_path)
    env = {k: cli.env[k] for k in ("VECRON_DATABASE_URL", "VECRON_STORAGE_URL", "VECRON_CONFIG")}
    env["VECRON_STATE_DIR"] = str(tmp_path / "state")
    with logging_restored():
        result = CliRunner().invoke(
            app,
            [
                "job",
                "import",
                str(tmp_path / "asked.json"),
                "--ask",
                "--secret",
                "asked/vars.PIN=p1n-ü",
            ],
            input="t0ken-typed\n",
            env=env,
        )
    assert result.exit_code == 0, result.output
    assert "secret asked/steps.call.auth.token" in result.output  # asked once, PIN was given
    assert "asked/vars.PIN:" not in result.output
    assert "t0ken-typed" not in result.output
    cli.env["VECRON_STATE_DIR"] = env["VECRON_STATE_DIR"]
    revealed = cli("var", "get", "PIN", "--job", "asked", "--reveal", "--json").json()
    assert revealed["value"] == "p1n-ü"
    assert asyncio.run(stored_token(env)) == "t0ken-typed"
    copy = tmp_path / "again.json"
    cli("job", "export", "asked", "-o", str(copy))
    assert json.loads(copy.read_text())["secrets"] == [
        "asked/steps.call.auth.token",
        "asked/vars.PIN",
    ]


async def stored_token(env: dict[str, str]) -> Any:
    settings = Settings(
        database_url=env["VECRON_DATABASE_URL"],
        storage_url=env["VECRON_STORAGE_URL"],
        state_dir=Path(env["VECRON_STATE_DIR"]),
        port=0,
    )
    async with Runtime(settings) as rt:
        return (await rt.store.get_job("asked")).definition.steps[0].config["auth"]["token"]

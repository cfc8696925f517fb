"""``vecron job export`` / ``vecron job import`` as a user runs them (issue 12): a file
named by its time, secrets supplied by option and by file, and each bad input one line
on stderr with nothing saved (acceptance 6)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support.cli import Cli
from tests.support.exports import BAD, FIFTY_MB, huge

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

"""Bad input: one clear line from the CLI (one more, indented, per problem when a document
has several), a non-zero exit, and nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import Cli

GOOD = """
name: good
triggers: [{type: cron, expression: "0 0 * * * ?"}]
steps: [{id: ping, type: http, url: "http://127.0.0.1:9/x"}]
"""


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("name: x\nsteps: [\n", "invalid YAML"),
        ('{"name": "x", ', "invalid JSON"),
        (
            GOOD.replace("type: http", "type: teleport"),
            "unknown step type 'teleport'; installed: database, files, http, sftp",
        ),
        (GOOD.replace("url:", "colour: red, url:"), "steps[0].colour: unknown field"),
        (GOOD + "timezone: Mars/Base\n", "timezone: unknown time zone 'Mars/Base'"),
        (
            GOOD + "start_at: 2026-05-01T00:00:00\nend_at: 2026-04-01T00:00:00\n",
            "end_at: must be after start_at",
        ),
        (GOOD.replace("0 0 * * * ?", "0 0 25 * * ?"), "triggers[0].expression"),
    ],
)
def test_bad_document_is_one_line_and_writes_nothing(
    cli: Cli, tmp_path: Path, text: str, words: str
) -> None:
    folder = tmp_path / "jobs"
    folder.mkdir()
    (folder / "a-good.yaml").write_text(GOOD.replace("name: good", "name: fine"))
    (folder / "b-bad.yaml").write_text(text)
    result = cli("job", "apply", "-f", str(folder), check=False)
    assert result.code != 0
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert words in lines[0]
    assert "b-bad.yaml" in lines[0]
    assert "Traceback" not in result.err
    # The good document beside the bad one was not saved either.
    assert cli("job", "list", "--json").json() == []


def test_every_problem_of_a_document_is_listed_under_one_line_that_counts_them(
    cli: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: bad\n"
        "timezone: Mars/Base\n"
        'triggers: [{type: cron, expression: "0 0 25 * * ?"}]\n'
        "steps:\n"
        '  - {id: ping, type: http, url: "http://127.0.0.1:9/x", colour: red}\n'
        "  - {id: ping, type: teleport}\n"
    )
    result = cli("job", "apply", "-f", str(path), check=False)
    assert result.code == 65
    first, *rest = result.err.rstrip("\n").split("\n")
    assert first == f"error: {path}: 5 problems in the job document"
    assert [line.split(":")[0] for line in rest] == [
        "  timezone",
        "  steps[0].colour",
        "  steps[1].type",
        "  triggers[0].expression",
        "  steps[1].id",  # rules over several fields come last
    ]
    assert "Value error" not in result.err and "Traceback" not in result.err
    assert cli("job", "list", "--json").json() == []


def test_missing_file_and_unknown_job(cli: Cli, tmp_path: Path) -> None:
    missing = cli("job", "apply", "-f", str(tmp_path / "nope.yaml"), check=False)
    assert missing.code != 0 and "no such file" in missing.err
    unknown = cli("job", "show", "ghost", check=False)
    assert unknown.code == 66 and unknown.err.count("\n") == 1 and "ghost" in unknown.err
    # The core says what is wrong; the advice naming a command is the CLI's own.
    assert unknown.err.rstrip().endswith("(`vecron job list` shows the jobs)")


def test_apply_shows_created_then_diff_then_unchanged(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(GOOD)
    first = cli("job", "apply", "-f", str(path), "--json").json()
    assert [(c["name"], c["change"], c["version"]) for c in first] == [("good", "created", 1)]
    path.write_text(GOOD.replace("0 0 * * * ?", "0 30 * * * ?"))
    second = cli("job", "apply", "-f", str(path), "--json").json()
    assert second[0]["change"] == "updated" and second[0]["version"] == 2
    assert '-      "expression": "0 0 * * * ?"' in second[0]["diff"]
    assert '+      "expression": "0 30 * * * ?"' in second[0]["diff"]
    third = cli("job", "apply", "-f", str(path), "--json").json()
    assert third[0]["change"] == "unchanged" and third[0]["version"] == 2


def test_schedule_explain_rejects_a_bad_field(cli: Cli) -> None:
    result = cli("schedule", "explain", "0 61 * * * ?", check=False)
    assert result.code == 65
    assert "minute" in result.err and result.err.count("\n") == 1


def test_schedule_explain_lists_fire_times_in_the_zone(cli: Cli) -> None:
    data = cli(
        "schedule",
        "explain",
        "0 30 2 * * ?",
        "--tz",
        "Europe/Berlin",
        "--count",
        "3",
        "--after",
        "2026-03-28T00:00:00",
        "--json",
    ).json()
    assert data["timezone"] == "Europe/Berlin"
    locals_ = [f["local"] for f in data["fires"]]
    # 02:30 does not exist on 2026-03-29 in Berlin: fired once at the first valid instant.
    assert locals_ == [
        "2026-03-28T02:30:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-30T02:30:00+02:00",
    ]
    assert data["fires"][1]["note"] and data["fires"][0]["note"] is None


def test_plugins_list_shows_builtins_with_versions(cli: Cli) -> None:
    plugins = {p["name"]: p for p in cli("plugins", "list", "--json").json()}
    assert plugins["http"]["executors"] == ["http"]
    assert plugins["http"]["distribution"] == "vecron-http" and plugins["http"]["version"]
    schedule = plugins["trigger_schedule"]
    assert schedule["distribution"] == "vecron-trigger-schedule"
    assert set(schedule["triggers"]) == {"cron", "fixed_delay", "fixed_rate", "once"}

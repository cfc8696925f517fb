"""``vecron job webhook NAME [--regenerate] [--json]``, the real command against SQLite in
a temporary folder: the URL always, the secret once, errors on one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.plugins.trigger_webhook.signed import webhook_job
from tests.support.cli import Cli


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    found = Cli(tmp_path)
    job = tmp_path / "hooked.json"
    job.write_text(json.dumps(webhook_job("hooked", grace=60)))
    found("job", "apply", "-f", str(job))
    return found


def test_regenerate_shows_the_secret_once_and_show_never(cli: Cli) -> None:
    missing = cli("job", "webhook", "hooked", check=False)
    assert missing.code == 66 and missing.out == ""
    assert missing.err.startswith("error: ") and len(missing.err.strip().splitlines()) == 1
    assert "regenerat" in missing.err

    made = cli("job", "webhook", "hooked", "--regenerate")
    lines = dict(line.split(": ", 1) for line in made.out.splitlines() if ": " in line)
    assert lines["url"].startswith("http://127.0.0.1:8080/api/v1/hooks/")
    assert lines["secret"].startswith("whsec_")
    assert "shown this once" in made.err

    shown = cli("job", "webhook", "hooked", "--json").json()
    assert shown["secret"] is None and shown["url"] == lines["url"]
    assert lines["secret"] not in cli("job", "webhook", "hooked").out

    again = cli("job", "webhook", "hooked", "--regenerate", "--json").json()
    assert again["secret"].startswith("whsec_") and again["secret"] != lines["secret"]
    assert again["url"] == lines["url"], "the URL stays"
    assert again["previous_valid_until"] is not None  # the trigger's grace of 60 s


def test_an_unknown_job_is_one_line(cli: Cli) -> None:
    result = cli("job", "webhook", "nope", "--regenerate", check=False)
    assert result.code == 66
    assert result.err.startswith("error: ") and "nope" in result.err
    assert "Traceback" not in result.err

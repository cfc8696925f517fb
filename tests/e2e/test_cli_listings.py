"""The real ``vecron`` command over the listings and changes the REST API also offers:
``job list`` filters, ``job versions``, ``job show --version``, ``exec list`` filters,
``exec cancel`` and ``exec dead-letters``; each ``--json`` is the service's view."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import Cli

pytestmark = pytest.mark.slow

DOCUMENT = """
name: {name}
triggers: [{{type: manual}}]
steps: [{{id: ping, type: http, url: "http://127.0.0.1:9/{path}"}}]
"""


def test_versions_filters_cancel_and_dead_letters(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    for name in ("report-daily", "report-weekly", "sync"):
        (tmp_path / f"{name}.yaml").write_text(DOCUMENT.format(name=name, path="a"))
        cli("job", "apply", "-f", str(tmp_path / f"{name}.yaml"))
    (tmp_path / "sync.yaml").write_text(DOCUMENT.format(name="sync", path="b"))
    cli("job", "apply", "-f", str(tmp_path / "sync.yaml"))
    cli("job", "disable", "report-weekly")

    listed = cli("job", "list", "--search", "REPORT", "--json").json()
    assert [j["name"] for j in listed] == ["report-daily", "report-weekly"]
    assert {"last_status", "success_rate"} <= set(listed[0])
    disabled = cli("job", "list", "--disabled", "--json").json()
    assert [j["name"] for j in disabled] == ["report-weekly"]

    versions = cli("job", "versions", "sync", "--json").json()
    assert [(v["version"], v["current"]) for v in versions] == [(1, False), (2, True)]
    first = cli("job", "show", "sync", "--version", "1", "--json").json()
    assert first["version"] == 1 and first["definition"]["steps"][0]["url"].endswith("/a")
    missing = cli("job", "show", "sync", "--version", "9", check=False)
    assert missing.code == 66 and "no version 9" in missing.err

    # Nobody works the embedded queue here: a run stays queued, and is cancelled at once.
    queued = cli("job", "run", "sync", "--json").json()
    assert queued["status"] == "queued"
    listed_runs = cli("exec", "list", "--trigger", "manual", "--json").json()
    assert [e["id"] for e in listed_runs] == [queued["id"]]
    assert cli("exec", "list", "--trigger", "cron", "--json").json() == []
    cancelled = cli("exec", "cancel", queued["id"], "--json").json()
    assert cancelled["status"] == "cancelled"
    again = cli("exec", "cancel", queued["id"], check=False)
    assert again.code == 75 and "nothing to cancel" in again.err
    assert cli("exec", "dead-letters", "--json").json() == []
    entries = cli("audit", "list", "--action", "execution.cancel", "--json").json()
    assert [e["resource"] for e in entries] == [f"execution:{queued['id']}"]

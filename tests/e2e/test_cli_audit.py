"""``vecron audit list``: what the local operator changed and revealed, filtered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.support.cli import Cli


def test_changes_and_reveals_are_listed_and_filtered(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    cli("var", "set", "TOKEN", "audit-canary", "--secret")
    cli("var", "get", "TOKEN", "--reveal")
    cli("var", "delete", "TOKEN")
    entries = cli("audit", "list", "--json").json()
    assert [(e["action"], e["resource"], e["outcome"]) for e in entries] == [
        ("variable.delete", "variable:TOKEN", "ok"),
        ("variable.reveal", "variable:TOKEN", "ok"),
        ("variable.set", "variable:TOKEN", "ok"),
    ]
    assert {(e["actor"], e["source"]) for e in entries} == {("local-operator", "cli")}
    table = cli("audit", "list", "--action", "variable.reveal").out
    assert "variable.reveal" in table and "variable.set" not in table
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert cli("audit", "list", "--since", later, "--json").json() == []
    bad = cli("audit", "list", "--since", "yesterday", check=False)
    assert bad.code == 65
    assert bad.err.strip() == "error: --since: not an ISO datetime: 'yesterday'"
    assert "audit-canary" not in str(entries) + table

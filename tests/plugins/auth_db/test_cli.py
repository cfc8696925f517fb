"""``vecron users …`` and ``vecron roles …``, run as the real command against a SQLite
database in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import Cli

from .conftest import PASSWORD


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def test_users_add_list_and_change(cli: Cli) -> None:
    added = cli("users", "add", "ada", "--role", "operator", "--role", "viewer")
    password = added.out.split("password of ada: ")[1].split()[0]
    assert len(password) >= 24
    cli("users", "add", "bob", "--role", "viewer", "--password-stdin", stdin=PASSWORD + "\n")

    listed = cli("users", "list", "--json").json()
    assert [(u["name"], u["roles"], u["disabled"]) for u in listed] == [
        ("ada", ["operator", "viewer"], False),
        ("bob", ["viewer"], False),
    ]
    assert "password" not in str(listed) and "$argon2" not in str(listed)

    cli("users", "disable", "ada")
    cli("users", "disable", "bob")
    cli("users", "enable", "bob")

    changed = cli("users", "set-password", "bob")
    assert "password of bob: " in changed.out
    cli("users", "set-password", "bob", "--password-stdin", stdin="another fine password\n")

    assert "ada\toperator,viewer\tdisabled\nbob\tviewer\tenabled" in cli("users", "list").out
    cli("users", "delete", "ada")
    assert [u["name"] for u in cli("users", "list", "--json").json()] == ["bob"]


def test_users_errors_are_one_line(cli: Cli) -> None:
    weak = cli(
        "users", "add", "eve", "--role", "viewer", "--password-stdin", stdin="short\n", check=False
    )
    assert weak.code == 65 and "at least 12 characters" in weak.err and "short" not in weak.err
    unknown = cli("users", "add", "eve", "--role", "wizard", check=False)
    assert unknown.code == 65 and "wizard" in unknown.err
    missing = cli("users", "delete", "nobody", check=False)
    assert missing.code == 66 and "nobody" in missing.err
    for result in (weak, unknown, missing):
        assert "Traceback" not in result.err


def test_roles_add_list_delete(cli: Cli) -> None:
    cli("roles", "add", "runner", "--permission", "job:execute", "--permission", "job:read")
    roles = cli("roles", "list", "--json").json()
    assert [(r["name"], r["builtin"]) for r in roles] == [
        ("admin", True),
        ("operator", True),
        ("viewer", True),
        ("runner", False),
    ]
    assert roles[3]["permissions"] == ["job:execute", "job:read"]
    cli("users", "add", "rue", "--role", "runner")
    in_use = cli("roles", "delete", "runner", check=False)
    assert in_use.code == 75 and "held by 1 user" in in_use.err
    cli("users", "delete", "rue")
    cli("roles", "delete", "runner")
    assert "runner" not in cli("roles", "list").out
    bad = cli("roles", "add", "x", "--permission", "job:fly", check=False)
    assert bad.code != 0 and "job:fly" in bad.err

"""``vecron var`` and ``vecron secrets`` through the real command line.

Every output is collected and searched for the secret plaintexts: they may appear only
where ``--reveal`` asked for that one value, and never in the database file.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.support.cli import Cli, Result
from vecron.jobs.masking import MASK

JOB = """
name: report
triggers: [{type: cron, expression: "0 0 * * * ?"}]
steps: [{id: ping, type: http, url: "http://127.0.0.1:9/x"}]
"""
ARGV_SECRET = "argv-canary-7f3a"
STDIN_SECRET = "stdin-canary-91c2 with spaces"
JOB_SECRET = "job-canary-44d0"


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def database_bytes(home: Path) -> bytes:
    files = sorted(home.glob("vecron.db*"))
    assert files
    return b"".join(path.read_bytes() for path in files)


def assert_one_line_error(result: Result, words: str) -> None:
    assert result.code != 0
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert words in lines[0], lines[0]
    assert "Traceback" not in result.err


def test_variables_end_to_end_with_secrets_masked_everywhere(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "report.yaml").write_text(JOB)
    cli("job", "apply", "-f", str(tmp_path / "report.yaml"))
    outputs: list[Result] = [
        cli("var", "set", "BASE_URL", "https://example.test"),
        cli("var", "set", "API_TOKEN", ARGV_SECRET, "--secret"),
        cli("var", "set", "DB_PASSWORD", "--from-stdin", "--secret", stdin=STDIN_SECRET + "\n"),
        cli("var", "set", "API_TOKEN", JOB_SECRET, "--job", "report", "--secret", "--json"),
        cli("var", "set", "BASE_URL", "https://job.example.test", "--job", "report"),
    ]
    assert "secret variable API_TOKEN (job report)" not in outputs[1].out
    assert outputs[1].out.strip() == "set secret variable API_TOKEN (global)"
    assert outputs[3].json()["value"] == MASK

    table = cli("var", "list")
    listed = cli("var", "list", "--json").json()
    outputs += [table]
    assert [(v["name"], v["job"], v["secret"], v["value"]) for v in listed] == [
        ("API_TOKEN", None, True, MASK),
        ("BASE_URL", None, False, "https://example.test"),
        ("DB_PASSWORD", None, True, MASK),
        ("API_TOKEN", "report", True, MASK),
        ("BASE_URL", "report", False, "https://job.example.test"),
    ]
    assert MASK in table.out
    assert "https://example.test" in table.out
    job_only = cli("var", "list", "--job", "report", "--json").json()
    assert [v["name"] for v in job_only] == ["API_TOKEN", "BASE_URL"]

    masked = cli("var", "get", "API_TOKEN")
    masked_json = cli("var", "get", "API_TOKEN", "--job", "report", "--json")
    outputs += [masked, masked_json]
    assert masked.out == MASK + "\n"
    assert masked_json.json()["value"] == MASK
    assert cli("var", "get", "BASE_URL").out == "https://example.test\n"

    # --reveal shows that one value, and only it.
    assert cli("var", "get", "API_TOKEN", "--reveal").out == ARGV_SECRET + "\n"
    assert cli("var", "get", "DB_PASSWORD", "--reveal").out == STDIN_SECRET + "\n"
    revealed = cli("var", "get", "API_TOKEN", "--job", "report", "--reveal", "--json").json()
    assert revealed["value"] == JOB_SECRET

    outputs.append(cli("var", "delete", "API_TOKEN", "--job", "report"))
    assert outputs[-1].out.strip() == "deleted variable API_TOKEN (job report)"
    missing = cli("var", "get", "API_TOKEN", "--job", "report", check=False)
    outputs.append(missing)
    assert_one_line_error(missing, "variable 'API_TOKEN' of job 'report' not found")

    for result in outputs:
        for secret in (ARGV_SECRET, STDIN_SECRET, JOB_SECRET):
            assert secret not in result.out + result.err
    on_disk = database_bytes(tmp_path)
    for secret in (ARGV_SECRET, STDIN_SECRET, JOB_SECRET):
        assert secret.encode() not in on_disk
    assert b"canary" not in on_disk
    # With no VECRON_SECRET_KEYS the embedded default generated a private key file.
    key_file = tmp_path / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_rotate_key_then_the_old_key_can_go(cli: Cli, tmp_path: Path) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    cli.env["VECRON_SECRET_KEYS"] = old
    cli("var", "set", "ONE", "one-canary", "--secret")
    cli("var", "set", "TWO", "two-canary", "--secret")
    cli("var", "set", "PLAIN", "plain value")

    cli.env["VECRON_SECRET_KEYS"] = f"{new},{old}"
    assert cli("var", "get", "ONE", "--reveal").out == "one-canary\n"  # both decrypt
    rotated = cli("secrets", "rotate-key", "--json")
    assert rotated.json() == {"reencrypted": 2}
    text = cli("secrets", "rotate-key")
    assert text.out.startswith("re-encrypted 2 secret values with the first key")

    cli.env["VECRON_SECRET_KEYS"] = new  # the old key removed
    assert cli("var", "get", "ONE", "--reveal").out == "one-canary\n"
    assert cli("var", "get", "TWO", "--reveal", "--json").json()["value"] == "two-canary"

    cli.env["VECRON_SECRET_KEYS"] = old  # the old key alone no longer opens anything
    wrong = cli("var", "get", "ONE", "--reveal", check=False)
    assert_one_line_error(wrong, "secret variable 'ONE' cannot be decrypted")
    assert wrong.code == 78
    assert "one-canary" not in wrong.out + wrong.err
    failed_rotation = cli("secrets", "rotate-key", check=False)
    assert_one_line_error(failed_rotation, "cannot be re-encrypted")
    assert not (tmp_path / "secret.key").exists()  # configured keys: no key file

    on_disk = database_bytes(tmp_path)
    assert b"canary" not in on_disk
    assert b"plain value" in on_disk  # plain variables are stored as they are


def test_generate_key_prints_a_usable_key(cli: Cli) -> None:
    first, second = cli("secrets", "generate-key").out, cli("secrets", "generate-key").out
    assert first != second
    cli.env["VECRON_SECRET_KEYS"] = first.strip()
    cli("var", "set", "S", "value", "--secret")
    assert cli("var", "get", "S", "--reveal").out == "value\n"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("var", "set", "1BAD", "x"), "'1BAD' is not a variable name"),
        (("var", "set", "A-B", "x"), "'A-B' is not a variable name"),
        (("var", "set", "A"), "give either VALUE or --from-stdin"),
        (("var", "set", "A", "x", "--from-stdin"), "give either VALUE or --from-stdin"),
        (("var", "set", "A", "x", "--job", "nope"), "job 'nope' not found"),
        (("var", "get", "NOPE"), "variable 'NOPE' not found"),
        (("var", "delete", "NOPE"), "variable 'NOPE' not found"),
        (("var", "list", "--job", "nope"), "job 'nope' not found"),
    ],
)
def test_bad_input_is_one_line(cli: Cli, args: tuple[str, ...], words: str) -> None:
    assert_one_line_error(cli(*args, check=False), words)


def test_a_secret_cannot_be_overwritten_in_clear(cli: Cli) -> None:
    cli("var", "set", "TOKEN", "tok-canary", "--secret")
    result = cli("var", "set", "TOKEN", "plain", check=False)
    assert_one_line_error(result, "variable 'TOKEN' is secret; a plain value does not replace it")
    assert "(pass --secret to change it" in result.err  # the CLI's own advice
    assert cli("var", "get", "TOKEN", "--reveal").out == "tok-canary\n"


def test_a_secret_too_short_to_mask_is_refused_in_one_line(cli: Cli) -> None:
    result = cli("var", "set", "PIN", "12", "--secret", check=False)
    assert_one_line_error(result, "value: a secret value must have at least 3 characters")
    assert result.code == 65
    assert cli("var", "list", "--json").json() == []


def test_a_bad_secret_key_setting_is_one_line(cli: Cli) -> None:
    cli.env["VECRON_SECRET_KEYS"] = "short-and-wrong"
    result = cli("var", "list", check=False)
    assert_one_line_error(result, "secret key #1 is not a Fernet key")
    assert result.code == 78
    assert "short-and-wrong" not in result.err

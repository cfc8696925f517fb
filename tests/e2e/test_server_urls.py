"""A server URL's password never reaches a log line or the CLI's output: `vecron up`
logged the database and queue URLs as given, and `vecron db upgrade` printed it."""

from __future__ import annotations

import signal
import urllib.request
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from tests.e2e.test_up import eventually, free_port
from tests.support.cli import Cli
from tests.support.pg_fixtures import postgresql_url  # noqa: F401  (a fixture)
from vecron.urls import redact_url

PASSWORD = "Pw-d0nt-l0g-me"

users = st.text(st.characters(blacklist_characters=":/@\n", codec="utf-8"), max_size=8)
passwords = st.text(st.characters(codec="utf-8"), min_size=3, max_size=20)
hosts = st.from_regex(r"[a-z][a-z0-9.-]{0,15}(:[0-9]{1,5})?", fullmatch=True)


@given(
    scheme=st.sampled_from(["postgresql+asyncpg", "s3", "redis", "nats", "mysql+aiomysql"]),
    user=users,
    password=passwords,
    host=hosts,
    path=st.sampled_from(["", "/0", "/vecron?ssl=true", "/bucket"]),
)
def test_no_password_survives_redaction(
    scheme: str, user: str, password: str, host: str, path: str
) -> None:
    assume(password not in f"{scheme}://{user}:@{host}{path}***")
    shown = redact_url(f"{scheme}://{user}:{password}@{host}{path}")
    assert password not in shown
    assert shown.startswith(f"{scheme}://{user}:***@")


def test_a_url_without_a_password_is_shown_as_it_is() -> None:
    for url in ("sqlite+aiosqlite:///./.vecron/vecron.db", "memory://", "redis://h:6379/0"):
        assert redact_url(url) == url


def with_password(url: str) -> str:
    # The test server trusts every local connection, so any password is accepted.
    return make_url(url).set(password=PASSWORD).render_as_string(hide_password=False)


@pytest.fixture
def cli(tmp_path: Path, postgresql_url: str) -> Cli:  # noqa: F811
    """The CLI on a PostgreSQL database whose URL holds a password."""
    cli = Cli(tmp_path)
    cli.env["VECRON_DATABASE_URL"] = with_password(postgresql_url)
    return cli


def test_db_upgrade_prints_the_database_without_its_password(cli: Cli) -> None:
    result = cli("db", "upgrade")
    assert "is up to date" in result.out
    assert ":***@" in result.out
    assert PASSWORD not in result.out + result.err


def test_up_logs_its_servers_without_their_passwords(cli: Cli) -> None:
    port = free_port()
    proc = cli.popen("up", "--port", str(port), "--no-example")
    try:

        def ready() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    return bool(r.status == 200)
            except OSError:
                return False

        eventually(ready, timeout=60)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    assert "probes listening" in out + err
    assert ":***@" in out + err
    assert PASSWORD not in out + err

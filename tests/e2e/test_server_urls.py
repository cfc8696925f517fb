"""A server URL's password never reaches a log line or the CLI's output (issue #10,
acceptance 6): `vecron up` logged the database and queue URLs as given, and `vecron db
upgrade` printed it.

The processes run on real servers that need the password — a NATS server and a Redis of
the test's own with a password set, the session's S3 server with its own secret key,
PostgreSQL (trust: any password is accepted) — with debug logging, and on servers that
refuse or do not answer. Every line of stdout and stderr, and what /readyz says, is
searched for the password in each spelling a URL may carry it.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from tests.e2e.test_up import eventually, free_port
from tests.support.cli import Cli
from tests.support.cluster import TEST_SECRET_KEY
from tests.support.pg_fixtures import postgresql_url  # noqa: F401  (a fixture)
from tests.support.private_servers import stop_process, wait_port
from tests.support.s3_fixtures import S3Server, s3_server_fixture, s3_url_fixture  # noqa: F401
from vecron.urls import redact_url

PASSWORD = "Pw-d0nt-l0g-me"
#: A password a server refuses: it must not be shown either.
WRONG_PASSWORD = "Wr0ng-pw-n0t-sh0wn"

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
    cli.env["VECRON_SECRET_KEYS"] = TEST_SECRET_KEY
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
    assert "listening" in out + err
    assert ":***@" in out + err
    assert PASSWORD not in out + err


# -- every backend on a password, in real processes ----------------------------------
def spellings(secret: str) -> set[str]:
    """How a password may appear: as given, or percent-encoded as in a URL."""
    return {secret, quote(secret, safe=""), quote_plus(secret)}


def assert_hidden(text: str, *secrets: str) -> None:
    for secret in secrets:
        for spelling in spellings(secret):
            assert spelling not in text, f"a password ({secret[:2]}...) was shown"


@dataclass
class Server:
    url: str
    port: int
    proc: subprocess.Popen[bytes]


def _serve(command: list[str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
    except AssertionError:
        proc.kill()
        raise
    return proc


@pytest.fixture
def nats_with_password(tmp_path: Path) -> Iterator[Server]:
    """A nats-server of this test (JetStream on) that only lets ``vecron`` in with
    :data:`PASSWORD`."""
    binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
    port = free_port()
    command = [binary, "-a", "127.0.0.1", "-p", str(port), "-js"]
    command += ["-sd", str(tmp_path / "nats"), "--user", "vecron", "--pass", PASSWORD]
    proc = _serve(command, port)
    yield Server(f"nats://vecron:{PASSWORD}@127.0.0.1:{port}?connect_timeout=2", port, proc)
    stop_process(proc)


@pytest.fixture
def redis_with_password() -> Iterator[Server]:
    """A redis-server of this test that requires :data:`PASSWORD`."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--requirepass", PASSWORD]
    command += ["--save", "", "--appendonly", "no"]
    proc = _serve(command, port)
    yield Server(f"redis://:{PASSWORD}@127.0.0.1:{port}/0", port, proc)
    stop_process(proc)


def readyz(port: int) -> tuple[int, str] | None:
    """/readyz's status and body, or None while nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
            return int(r.status), r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return None


async def _succeeded(database_url: str) -> int:
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            found = await conn.execute(
                text("SELECT count(*) FROM executions WHERE status = 'succeeded'")
            )
            return int(found.scalar_one())
    finally:
        await engine.dispose()


@pytest.mark.slow
def test_a_distributed_up_shows_no_password_of_any_server(
    tmp_path: Path,
    postgresql_url: str,  # noqa: F811
    nats_with_password: Server,
    redis_with_password: Server,
    s3_server: S3Server,
    s3_url: str,
) -> None:
    """Scheduler, worker, queue, lock and storage all busy: the example job runs every
    5 s on every backend, with debug logging on."""
    cli = Cli(tmp_path)
    database_url = with_password(postgresql_url)
    cli.env |= {
        "VECRON_DATABASE_URL": database_url,
        "VECRON_QUEUE_URL": nats_with_password.url,
        "VECRON_LOCK_URL": redis_with_password.url,
        "VECRON_STORAGE_URL": s3_url,
        "VECRON_LOG_LEVEL": "debug",
        "VECRON_SECRET_KEYS": TEST_SECRET_KEY,
    }
    assert s3_server.secret_key in s3_url  # the storage URL holds a real secret
    port = free_port()
    proc = cli.popen("up", "--port", str(port))
    answers: list[str] = []
    try:

        def ready() -> str | None:
            answer = readyz(port)
            return answer[1] if answer is not None and answer[0] == 200 else None

        answers.append(eventually(ready, timeout=90))
        # One run of the example job went through queue, lock, worker and storage.
        eventually(lambda: asyncio.run(_succeeded(database_url)) >= 1, timeout=90, every=1)
        final = readyz(port)
        assert final is not None and final[0] == 200, final
        answers.append(final[1])
        listed = cli("exec", "list", "--json", check=False)
        answers += [listed.out, listed.err]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-3000:]
    shown = "\n".join([out, err, *answers])
    assert "listening" in shown
    assert f"nats://vecron:***@127.0.0.1:{nats_with_password.port}" in shown
    assert "postgres:***@" in shown
    assert f"redis://:***@127.0.0.1:{redis_with_password.port}/0" in shown
    assert f":***@{s3_server.endpoint}/" in shown
    assert_hidden(shown, PASSWORD, s3_server.secret_key)


def _failing_up(cli: Cli) -> str:
    """Run ``vecron up`` until it exits or /readyz answers, then stop it; everything it
    said, /readyz included. The failure must be visible: an exit or an unready probe."""
    port = free_port()
    proc = cli.popen("up", "--port", str(port), "--no-example")
    answer: tuple[int, str] | None = None
    try:
        answer = eventually(lambda: proc.poll() is not None or readyz(port), timeout=90)
        if answer is True:
            answer = None
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    said = [out, err]
    if isinstance(answer, tuple):
        assert answer[0] == 503, answer
        said.append(answer[1])
    else:
        assert proc.returncode != 0, out + err
    return "\n".join(said)


def _closed_port() -> int:
    return free_port()  # bound and released: nothing listens there


#: Each server that does not answer, and how the failure names it (password hidden).
FAILURES = {
    "database unreachable": (
        "VECRON_DATABASE_URL",
        f"postgresql+asyncpg://postgres:{WRONG_PASSWORD}@127.0.0.1:{_closed_port()}/vecron",
        "postgresql+asyncpg://postgres:***@127.0.0.1:",
    ),
    "queue unreachable": (
        "VECRON_QUEUE_URL",
        f"nats://vecron:{WRONG_PASSWORD}@127.0.0.1:{_closed_port()}?connect_timeout=1",
        "nats://vecron:***@127.0.0.1:",
    ),
    "lock unreachable": (
        "VECRON_LOCK_URL",
        f"redis://:{WRONG_PASSWORD}@127.0.0.1:{_closed_port()}/0",
        "redis://:***@127.0.0.1:",
    ),
    "storage unreachable": (
        "VECRON_STORAGE_URL",
        f"s3://KEY:{WRONG_PASSWORD}@127.0.0.1:{_closed_port()}/bucket?secure=false",
        "s3://KEY:***@127.0.0.1:",
    ),
}


@pytest.mark.parametrize("failure", FAILURES)
def test_a_server_that_does_not_answer_is_named_without_its_password(
    tmp_path: Path, failure: str
) -> None:
    setting, url, named = FAILURES[failure]
    cli = Cli(tmp_path)
    cli.env |= {"VECRON_LOG_LEVEL": "debug", setting: url}
    said = _failing_up(cli)
    assert named in said
    assert_hidden(said, WRONG_PASSWORD)
    if failure == "database unreachable":
        upgrade = cli("db", "upgrade", check=False)
        assert upgrade.code != 0
        assert named in upgrade.err
        assert_hidden(upgrade.out + upgrade.err, WRONG_PASSWORD)


def test_servers_that_refuse_the_password_do_not_show_it(
    tmp_path: Path, nats_with_password: Server, redis_with_password: Server
) -> None:
    """A wrong password is the likeliest to be echoed: by a driver's error, a log line."""
    cli = Cli(tmp_path)
    cli.env["VECRON_LOG_LEVEL"] = "debug"
    cli.env["VECRON_QUEUE_URL"] = nats_with_password.url.replace(PASSWORD, WRONG_PASSWORD)
    assert_hidden(_failing_up(cli), WRONG_PASSWORD, PASSWORD)

    (tmp_path / "lock").mkdir()
    cli = Cli(tmp_path / "lock")
    cli.env["VECRON_LOG_LEVEL"] = "debug"
    cli.env["VECRON_LOCK_URL"] = redis_with_password.url.replace(PASSWORD, WRONG_PASSWORD)
    assert_hidden(_failing_up(cli), WRONG_PASSWORD, PASSWORD)

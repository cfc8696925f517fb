"""A URL's password is hidden in free text too, and so in every log line, whoever writes
it: a driver that quotes its connection string in an error, a plugin, vecron itself."""

from __future__ import annotations

import io
import json
from pathlib import PurePosixPath

from hypothesis import assume, given
from hypothesis import strategies as st

from vecron.telemetry import get_logger
from vecron.urls import redact_url, redact_urls_in

SCHEMES = st.sampled_from(["postgresql+asyncpg", "s3", "redis", "nats", "mysql+aiomysql"])
USERS = st.text(st.characters(blacklist_characters=":/@'\"", codec="utf-8"), max_size=8).filter(
    lambda user: not any(c.isspace() for c in user)
)
# In free text a URL ends at white space or a quote; a password can hold anything else.
PASSWORDS = st.text(
    st.characters(blacklist_characters="'\"", codec="utf-8"), min_size=3, max_size=20
).filter(lambda password: not any(c.isspace() for c in password))
HOSTS = st.from_regex(r"[a-z][a-z0-9.-]{0,15}(:[0-9]{1,5})?", fullmatch=True)
WORDS = st.text(st.characters(blacklist_characters="@", codec="utf-8"), max_size=30)


@given(
    scheme=SCHEMES,
    user=USERS,
    password=PASSWORDS,
    host=HOSTS,
    before=WORDS,
    after=WORDS,
    separator=st.sampled_from([" ", "\n", "'", '"', "\t"]),
)
def test_no_password_survives_in_text(
    scheme: str,
    user: str,
    password: str,
    host: str,
    before: str,
    after: str,
    separator: str,
) -> None:
    url = f"{scheme}://{user}:{password}@{host}/db"
    assume(password not in f"{before}{scheme}://{user}:***@{host}/db{after}")
    text = f"{before}{separator}{url}{separator}{after}"
    shown = redact_urls_in(text)
    assert password not in shown
    assert f"{scheme}://{user}:***@{host}/db" in shown


@given(text=WORDS)
def test_text_without_a_url_password_is_left_as_it_is(text: str) -> None:
    assert redact_urls_in(text) == text
    assert redact_urls_in(f"see http://{text.strip() or 'x'}.example/") == (
        f"see http://{text.strip() or 'x'}.example/"
    )


def test_in_text_and_whole_url_redaction_agree() -> None:
    url = "postgresql+asyncpg://app:p@ss/w0rd@db:5432/vecron"
    assert redact_urls_in(url) == redact_url(url) == "postgresql+asyncpg://app:***@db:5432/vecron"


class Connection:
    """An object a plugin logs as it is: rendered by its str()."""

    def __str__(self) -> str:
        return "Connection(redis://:hunter2-pw@cache:6379/0)"


def test_no_log_line_shows_a_url_password(log_lines: io.StringIO) -> None:
    log = get_logger("some.driver")
    log.warning(
        "connect to postgresql://app:hunter2-pw@db/vecron failed",
        error="OperationalError('nats://u:hunter2-pw@q:4222 refused')",
        nested={"urls": ["s3://KEY:hunter2-pw@minio:9000/b"], "port": 5432},
        connection=Connection(),
        path=PurePosixPath("/srv/vecron"),
    )
    try:
        raise RuntimeError("cannot open mysql://root:hunter2-pw@db/x")
    except RuntimeError:
        log.exception("failed")
    text = log_lines.getvalue()
    assert "hunter2-pw" not in text
    first, second = (json.loads(line) for line in text.splitlines())
    assert first["event"] == "connect to postgresql://app:***@db/vecron failed"
    assert first["nested"] == {"urls": ["s3://KEY:***@minio:9000/b"], "port": 5432}
    assert first["connection"] == "Connection(redis://:***@cache:6379/0)"
    assert first["path"] == "PurePosixPath('/srv/vecron')"  # no URL: rendered as before
    assert "mysql://root:***@db/x" in second["exception"]

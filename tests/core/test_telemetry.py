"""Log lines never carry a secret the current execution knows, whoever logs it (S3.2)."""

from __future__ import annotations

import asyncio
import io
import json

from vecron.telemetry import bind_secrets, get_logger

SECRET = 's3cr3t-Ä"quoted'


async def test_a_bound_secret_is_masked_in_every_field_and_traceback(
    log_lines: io.StringIO,
) -> None:
    log = get_logger("plugin")

    async def execution() -> None:
        bind_secrets({SECRET})
        log.info("calling", url=f"https://x/?k={SECRET}", nested={"a": [SECRET]}, obj=[1])
        try:
            raise RuntimeError(f"refused {SECRET}")
        except RuntimeError:
            log.exception("failed")

    async def other() -> None:
        await asyncio.sleep(0)
        log.info("unrelated", value="s3cr3t-Ä")  # not this task's secret: left alone

    await asyncio.gather(asyncio.create_task(execution()), asyncio.create_task(other()))
    records = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    text = log_lines.getvalue()
    assert SECRET not in text and json.dumps(SECRET)[1:-1] not in text
    calling = next(r for r in records if r["event"] == "calling")
    assert calling["url"] == "https://x/?k=**********"
    assert calling["nested"] == {"a": ["**********"]}
    failed = next(r for r in records if r["event"] == "failed")
    assert "refused **********" in failed["exception"]
    assert next(r for r in records if r["event"] == "unrelated")["value"] == "s3cr3t-Ä"


def test_without_secrets_lines_are_untouched(log_lines: io.StringIO) -> None:
    get_logger("x").info("plain", value="s3cr3t-Ä")
    assert json.loads(log_lines.getvalue())["value"] == "s3cr3t-Ä"


def test_library_lines_are_json_and_masked_like_vecron_own(log_lines: io.StringIO) -> None:
    import contextvars
    import logging

    def write() -> None:  # in a context of its own: the bound secret stays in it
        bind_secrets(["lib-secret-771"])
        logging.getLogger("sqlalchemy.pool").warning("connection lib-secret-771 went away")
        logging.getLogger("aiohttp.access").info("below warning: dropped")

    contextvars.copy_context().run(write)
    [line] = [json.loads(text) for text in log_lines.getvalue().splitlines()]
    assert line["logger"] == "sqlalchemy.pool" and line["level"] == "warning"
    assert "lib-secret-771" not in log_lines.getvalue()


def test_a_malformed_request_is_one_line_that_quotes_no_header(log_lines: io.StringIO) -> None:
    import logging

    from aiohttp.http_exceptions import BadHttpMessage

    try:
        raise BadHttpMessage("Invalid header value char: b'Authorization: Bearer abc\\x00'")
    except BadHttpMessage as exc:
        logging.getLogger("aiohttp.server").error(
            "Error handling request from %s", "127.0.0.1", exc_info=exc
        )
    text = log_lines.getvalue()
    [line] = [json.loads(row) for row in text.splitlines()]
    assert line["event"] == "refused a malformed HTTP request (BadHttpMessage)"
    assert line["level"] == "warning"
    assert "Bearer" not in text and "Traceback" not in text

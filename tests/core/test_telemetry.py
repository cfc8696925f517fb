"""Log lines never carry a secret the current execution knows, whoever logs it (S3.2)."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator

import pytest
import structlog

from vecron.telemetry import bind_secrets, configure_logging, get_logger

SECRET = 's3cr3t-Ä"quoted'


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("debug", "json", stream=stream)
    yield stream
    structlog.reset_defaults()


async def test_a_bound_secret_is_masked_in_every_field_and_traceback(lines: io.StringIO) -> None:
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
    records = [json.loads(line) for line in lines.getvalue().splitlines()]
    text = lines.getvalue()
    assert SECRET not in text and json.dumps(SECRET)[1:-1] not in text
    calling = next(r for r in records if r["event"] == "calling")
    assert calling["url"] == "https://x/?k=**********"
    assert calling["nested"] == {"a": ["**********"]}
    failed = next(r for r in records if r["event"] == "failed")
    assert "refused **********" in failed["exception"]
    assert next(r for r in records if r["event"] == "unrelated")["value"] == "s3cr3t-Ä"


def test_without_secrets_lines_are_untouched(lines: io.StringIO) -> None:
    get_logger("x").info("plain", value="s3cr3t-Ä")
    assert json.loads(lines.getvalue())["value"] == "s3cr3t-Ä"

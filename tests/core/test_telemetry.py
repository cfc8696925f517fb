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

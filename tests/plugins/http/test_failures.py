"""How the ``http`` executor classifies failures: retryable or final."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from vecron.errors import FinalError, RetryableError
from vecron.testing import make_step_context
from vecron_http import HttpConfig, HttpExecutor

from .conftest import Target


async def run(executor: HttpExecutor, timeout: float | None = 30.0, **config: Any) -> Any:
    ctx = make_step_context(timeout=timeout)
    return await executor.run(ctx, HttpConfig.model_validate(config))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_503_with_retry_after_seconds_is_retryable(
    executor: HttpExecutor, target: Target
) -> None:
    with pytest.raises(RetryableError) as caught:
        await run(executor, url=target.url("/status/503?retry_after=7"))
    error = caught.value
    assert error.retryable is True
    assert error.retry_after == 7.0
    assert error.output is not None
    assert error.output["status"] == 503
    assert "503" in error.message
    assert "status 503 on purpose" in error.message


async def test_retry_after_as_http_date(executor: HttpExecutor, target: Target) -> None:
    with pytest.raises(RetryableError) as caught:
        await run(executor, url=target.url("/status/429?retry_after=Wed, 21 Oct 2015 07:28:00 GMT"))
    assert caught.value.retry_after == 0.0  # a date in the past: retry now


@pytest.mark.parametrize("code", [408, 425, 429, 500, 502, 504])
async def test_transient_statuses_are_retryable(
    executor: HttpExecutor, target: Target, code: int
) -> None:
    with pytest.raises(RetryableError) as caught:
        await run(executor, url=target.url(f"/status/{code}"))
    assert caught.value.retry_after is None
    assert caught.value.output is not None
    assert caught.value.output["status"] == code


@pytest.mark.parametrize("code", [400, 401, 403, 404, 409, 422])
async def test_other_unexpected_statuses_are_final(
    executor: HttpExecutor, target: Target, code: int
) -> None:
    with pytest.raises(FinalError) as caught:
        await run(executor, method="DELETE", url=target.url(f"/status/{code}"))
    error = caught.value
    assert error.retryable is False
    assert error.output is not None
    assert error.output["body"] == {"error": f"status {code} on purpose"}
    assert f"HTTP {code}" in error.message


async def test_a_success_outside_expected_status_is_final(
    executor: HttpExecutor, target: Target
) -> None:
    with pytest.raises(FinalError, match="expected 201"):
        await run(executor, url=target.url("/status/200"), expected_status=[201])


async def test_a_redirect_not_followed_and_not_expected_is_final(
    executor: HttpExecutor, target: Target
) -> None:
    with pytest.raises(FinalError, match="HTTP 302"):
        await run(executor, url=target.url("/redirect"), follow_redirects=False)


async def test_connection_refused_is_retryable(executor: HttpExecutor) -> None:
    with pytest.raises(RetryableError) as caught:
        await run(executor, url=f"http://127.0.0.1:{free_port()}/nothing")
    assert caught.value.output is None
    assert "127.0.0.1" in caught.value.message


async def test_the_step_timeout_raises_retryable_error(
    executor: HttpExecutor, target: Target
) -> None:
    # The worker also bounds the step with its own asyncio.timeout; this is the
    # executor's own bound, reported as a retryable failure rather than a TimeoutError.
    with pytest.raises(RetryableError, match=r"timed out after 0\.2 s"):
        await run(executor, timeout=0.2, url=target.url("/slow?seconds=30"))


@pytest.mark.parametrize("chunked", ["0", "1"])
async def test_a_response_over_max_response_bytes_is_final(
    executor: HttpExecutor, target: Target, chunked: str
) -> None:
    with pytest.raises(FinalError, match="max_response_bytes=1000") as caught:
        await run(
            executor, url=target.url(f"/big?size=5000&chunked={chunked}"), max_response_bytes=1000
        )
    assert caught.value.output is not None
    assert caught.value.output["status"] == 200
    assert caught.value.output["body"] is None


async def test_secrets_do_not_leak_into_errors(executor: HttpExecutor, target: Target) -> None:
    with pytest.raises(FinalError) as caught:
        await run(
            executor,
            url=target.url("/basic"),
            auth={"type": "basic", "username": "mallory", "password": "hunter2-secret"},
            secret_headers={"X-Api-Key": "api-key-secret"},
        )
    text = f"{caught.value.message} {caught.value.output}"
    assert "401" in text
    assert "hunter2-secret" not in text
    assert "api-key-secret" not in text

"""Redis fixtures: the server from ``VECRON_TEST_REDIS_URL`` (default
``redis://127.0.0.1:6379/0``) and a fresh key prefix per test, whose keys are deleted
afterwards. Redis being unreachable fails the test; it is never skipped.

A test module imports all four, since pytest resolves a fixture's own fixtures by
name in the module that uses it. The functions end in ``_fixture`` so that a test's
``redis_url`` argument does not shadow an import::

    from tests.support.redis_fixtures import (  # noqa: F401
        redis_client_fixture,
        redis_prefix_fixture,
        redis_server_url_fixture,
        redis_url_fixture,
    )
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

REDIS_URL_ENV = "VECRON_TEST_REDIS_URL"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
START_HINT = (
    "start it with .ci/services.sh (or: redis-server --daemonize yes --bind 127.0.0.1 "
    f"--port 6379 --save '' --appendonly no) or point {REDIS_URL_ENV} at one"
)


@pytest.fixture(name="redis_server_url")
def redis_server_url_fixture() -> str:
    return os.environ.get(REDIS_URL_ENV, DEFAULT_REDIS_URL)


@pytest.fixture(name="redis_prefix")
def redis_prefix_fixture() -> str:
    return f"vecron-test-{uuid.uuid4().hex[:16]}"


@pytest.fixture(name="redis_client")
async def redis_client_fixture(redis_server_url: str, redis_prefix: str) -> AsyncIterator[Redis]:
    """A client for looking at the server directly; deletes the test's keys afterwards."""
    client = Redis.from_url(redis_server_url, socket_connect_timeout=2)
    try:
        try:
            await client.ping()
        except Exception as exc:  # refused, auth, DNS...: all mean no usable server
            pytest.fail(
                f"Redis at {redis_server_url} is not usable ({type(exc).__name__}: {exc}); "
                + START_HINT,
                pytrace=False,
            )
        yield client
        keys = [key async for key in client.scan_iter(match=f"{redis_prefix}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture(name="redis_url")
def redis_url_fixture(redis_server_url: str, redis_prefix: str, redis_client: Redis) -> str:
    """The server's URL with this test's key prefix (checked reachable)."""
    joiner = "&" if "?" in redis_server_url else "?"
    return f"{redis_server_url}{joiner}prefix={redis_prefix}"

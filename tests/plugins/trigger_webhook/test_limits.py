"""The per-job token buckets, the same rules in this process and in Redis (one contract
over both backends, on a clock the test moves): a full bucket takes ``burst`` at once,
then ``rate`` a second; a refusal says how long until the next token; jobs do not share
a bucket; a delivery's execution is remembered for ten minutes."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis.asyncio import Redis

from tests.plugins.trigger_webhook.direct import Clock
from tests.support.redis_fixtures import (  # noqa: F401
    redis_client_fixture,
    redis_prefix_fixture,
    redis_server_url_fixture,
    redis_url_fixture,
)
from vecron_trigger_webhook.limits import (
    REMEMBER_SECONDS,
    Limits,
    MemoryLimits,
    RedisLimits,
    open_limits,
)


@pytest.fixture(params=["memory", "redis"])
async def limits(
    request: pytest.FixtureRequest, redis_client: Redis, redis_prefix: str
) -> AsyncIterator[tuple[Limits, Clock]]:
    clock = Clock()
    if request.param == "memory":
        yield MemoryLimits(clock.seconds), clock
    else:
        yield RedisLimits(redis_client, prefix=redis_prefix, clock=clock.seconds), clock


async def take_all(limits: Limits, job: str, rate: float, burst: int, n: int) -> int:
    return sum([await limits.take(job, rate, burst) is None for _ in range(n)])


async def test_a_full_bucket_takes_burst_then_rate(limits: tuple[Limits, Clock]) -> None:
    bucket, clock = limits
    assert await take_all(bucket, "job", 10, 10, 50) == 10
    wait = await bucket.take("job", 10, 10)
    assert wait == pytest.approx(0.1)
    clock.advance(0.5)
    assert await take_all(bucket, "job", 10, 10, 50) == 5
    clock.advance(3600)  # never more than burst, however long it rested
    assert await take_all(bucket, "job", 10, 10, 50) == 10


async def test_jobs_have_buckets_of_their_own(limits: tuple[Limits, Clock]) -> None:
    bucket, _ = limits
    assert await take_all(bucket, "a", 1, 3, 10) == 3
    assert await take_all(bucket, "b", 1, 3, 10) == 3


async def test_a_delivery_is_remembered_ten_minutes(limits: tuple[Limits, Clock]) -> None:
    bucket, clock = limits
    assert await bucket.answered("job", "msg_1") is None
    await bucket.remember("job", "msg_1", "execution-1")
    assert await bucket.answered("job", "msg_1") == "execution-1"
    assert await bucket.answered("other-job", "msg_1") is None
    if isinstance(bucket, MemoryLimits):  # Redis expires by its own clock (EX)
        clock.advance(REMEMBER_SECONDS)
        assert await bucket.answered("job", "msg_1") is None


async def test_concurrent_takes_in_redis_never_exceed_the_bucket(
    redis_client: Redis, redis_prefix: str
) -> None:
    """Two clients (two API processes) on one Redis, many takes at once: one bucket."""
    clock = Clock()
    one = RedisLimits(redis_client, prefix=redis_prefix, clock=clock.seconds)
    two = RedisLimits(Redis.from_url("redis://127.0.0.1:6379/0"), prefix=redis_prefix,
                      clock=clock.seconds)  # fmt: skip
    try:
        taken = await asyncio.gather(*(b.take("job", 1, 25) for b in [one, two] * 100))
    finally:
        await two.close()
    assert sum(wait is None for wait in taken) == 25


def test_the_lock_url_chooses_the_backend() -> None:
    assert isinstance(open_limits("local://", lambda: 0.0), MemoryLimits)
    found = open_limits("redis://127.0.0.1:6379/0?prefix=vecron-x", lambda: 0.0)
    assert isinstance(found, RedisLimits) and found.prefix == "vecron-x"
    asyncio.run(found.close())


@given(
    rate=st.floats(0.1, 1000),
    burst=st.integers(1, 100),
    gaps=st.lists(st.floats(0, 2), min_size=1, max_size=200),
)
def test_a_bucket_never_accepts_more_than_it_allows(
    rate: float, burst: int, gaps: list[float]
) -> None:
    """For any rate, burst and request times: accepted <= burst + rate x elapsed, and
    after a refusal's wait a token is there."""
    clock = Clock()
    bucket = MemoryLimits(clock.seconds)
    start = clock.seconds()
    accepted = 0

    async def run() -> None:
        nonlocal accepted
        for gap in gaps:
            clock.advance(gap)
            wait = await bucket.take("job", rate, burst)
            if wait is None:
                accepted += 1
            else:
                assert 0 < wait <= 1 / rate + 1e-9
                clock.advance(wait + 1e-6)  # the wait it named is enough
                assert await bucket.take("job", rate, burst) is None
                accepted += 1

    asyncio.run(run())
    elapsed = clock.seconds() - start
    assert accepted <= burst + math.floor(rate * elapsed + 1e-6)

"""The circuit breaker, on its in-memory state and on its Redis state (SPEC S5.3).

Every breaker a test opens shares one state, as the workers of one deployment do; with
Redis each has its own client. Time comes from a fake clock.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from tests.support.redis_fixtures import (  # noqa: F401
    redis_client_fixture,
    redis_prefix_fixture,
    redis_server_url_fixture,
    redis_url_fixture,
)
from vecron.breaker import (
    BreakerDecision,
    CircuitBreaker,
    CircuitState,
    MemoryBreakerState,
    open_breaker,
)
from vecron.breaker.redis import RedisBreakerState
from vecron.errors import BackendUnavailable, ConfigurationError

CLOSED, OPEN, HALF_OPEN = CircuitState.CLOSED, CircuitState.OPEN, CircuitState.HALF_OPEN
TARGET = "https://api.example.com:443"


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


BreakerFactory = Callable[[], CircuitBreaker]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "redis"])
def state_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "local://"
    url: str = request.getfixturevalue("redis_url")
    return url


@pytest.fixture
async def breakers(state_url: str, clock: FakeClock) -> AsyncIterator[BreakerFactory]:
    """Opens breakers with the defaults (5 failures, 30 s open) on one shared state."""
    opened: list[CircuitBreaker] = []
    memory = MemoryBreakerState()

    def open_one() -> CircuitBreaker:
        if state_url == "local://":
            breaker = CircuitBreaker(memory, clock=clock)
        else:
            breaker = open_breaker(state_url, clock=clock)
        opened.append(breaker)
        return breaker

    yield open_one
    for breaker in opened:
        await breaker.close()


@pytest.fixture
def breaker(breakers: BreakerFactory) -> CircuitBreaker:
    return breakers()


async def fail(breaker: CircuitBreaker, times: int, target: str = TARGET) -> None:
    for _ in range(times):
        await breaker.record(target, ok=False)


async def test_closed_lets_calls_through(breaker: CircuitBreaker) -> None:
    assert await breaker.allow(TARGET) == BreakerDecision(True, None, CLOSED)


async def test_opens_after_five_consecutive_failures(breaker: CircuitBreaker) -> None:
    await fail(breaker, 4)
    assert await breaker.allow(TARGET) == BreakerDecision(True, None, CLOSED)
    await fail(breaker, 1)
    decision = await breaker.allow(TARGET)
    assert decision.allowed is False
    assert decision.state is OPEN
    assert decision.retry_after == pytest.approx(30.0)


async def test_record_answers_the_state_it_left_the_circuit_in(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    """What a worker's metrics show (``circuit_breaker_state``) after each outcome."""
    assert [await breaker.record(TARGET, ok=False) for _ in range(5)] == [CLOSED] * 4 + [OPEN]
    assert await breaker.record(TARGET, ok=False) is OPEN  # a late report changes nothing
    clock.advance(30)
    assert (await breaker.allow(TARGET)).state is HALF_OPEN
    assert await breaker.record(TARGET, ok=False) is OPEN  # the probe failed
    clock.advance(30)
    await breaker.allow(TARGET)
    assert await breaker.record(TARGET, ok=True) is CLOSED


async def test_retry_after_is_the_rest_of_the_open_period(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    await fail(breaker, 5)
    clock.advance(12.5)
    decision = await breaker.allow(TARGET)
    assert (decision.allowed, decision.state) == (False, OPEN)
    assert decision.retry_after == pytest.approx(17.5)
    clock.advance(17.4)
    assert (await breaker.allow(TARGET)).retry_after == pytest.approx(0.1)


async def test_a_success_resets_the_failure_count(breaker: CircuitBreaker) -> None:
    await fail(breaker, 4)
    await breaker.record(TARGET, ok=True)
    await fail(breaker, 4)
    assert (await breaker.allow(TARGET)).allowed is True
    await fail(breaker, 1)
    assert (await breaker.allow(TARGET)).state is OPEN


async def test_half_open_allows_one_probe_and_its_success_closes(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    await fail(breaker, 5)
    clock.advance(30)
    assert await breaker.allow(TARGET) == BreakerDecision(True, None, HALF_OPEN)
    refused = await breaker.allow(TARGET)
    assert (refused.allowed, refused.state) == (False, HALF_OPEN)
    assert refused.retry_after == pytest.approx(30.0)
    await breaker.record(TARGET, ok=True)
    assert await breaker.allow(TARGET) == BreakerDecision(True, None, CLOSED)
    # Closed afresh: it takes five new failures to open again.
    await fail(breaker, 4)
    assert (await breaker.allow(TARGET)).allowed is True


async def test_a_failed_probe_opens_it_again(breaker: CircuitBreaker, clock: FakeClock) -> None:
    await fail(breaker, 5)
    clock.advance(31)
    assert (await breaker.allow(TARGET)).state is HALF_OPEN
    clock.advance(2)
    await breaker.record(TARGET, ok=False)
    decision = await breaker.allow(TARGET)
    assert (decision.allowed, decision.state) == (False, OPEN)
    assert decision.retry_after == pytest.approx(30.0)
    clock.advance(30)
    assert await breaker.allow(TARGET) == BreakerDecision(True, None, HALF_OPEN)


async def test_one_probe_among_concurrent_callers(
    breakers: BreakerFactory, clock: FakeClock
) -> None:
    workers = [breakers() for _ in range(10)]
    await fail(workers[0], 5)
    clock.advance(30)
    decisions = await asyncio.gather(*(worker.allow(TARGET) for worker in workers))
    assert [d.allowed for d in decisions].count(True) == 1
    assert all(d.state is HALF_OPEN for d in decisions)
    assert all(d.retry_after == pytest.approx(30.0) for d in decisions if not d.allowed)


async def test_state_is_shared_by_every_worker(breakers: BreakerFactory, clock: FakeClock) -> None:
    one, two = breakers(), breakers()
    await fail(one, 3)
    await fail(two, 2)
    assert (await one.allow(TARGET)).state is OPEN
    clock.advance(30)
    assert (await two.allow(TARGET)).allowed is True
    assert (await one.allow(TARGET)).allowed is False
    await two.record(TARGET, ok=True)
    assert (await one.allow(TARGET)).state is CLOSED


async def test_a_lost_probe_is_given_up_after_the_probe_time(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    await fail(breaker, 5)
    clock.advance(30)
    assert (await breaker.allow(TARGET)).allowed is True  # this probe never reports back
    clock.advance(29)
    assert (await breaker.allow(TARGET)).allowed is False
    clock.advance(1)
    assert await breaker.allow(TARGET) == BreakerDecision(True, None, HALF_OPEN)


async def test_outcomes_reported_while_open_change_nothing(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    await fail(breaker, 5)
    clock.advance(10)
    await breaker.record(TARGET, ok=True)
    await breaker.record(TARGET, ok=False)
    decision = await breaker.allow(TARGET)
    assert (decision.allowed, decision.state) == (False, OPEN)
    assert decision.retry_after == pytest.approx(20.0)


async def test_targets_are_isolated(breaker: CircuitBreaker) -> None:
    other = "postgresql://db.internal:5432"
    await fail(breaker, 5)
    await fail(breaker, 4, target=other)
    assert (await breaker.allow(TARGET)).state is OPEN
    assert await breaker.allow(other) == BreakerDecision(True, None, CLOSED)
    await breaker.record(other, ok=True)
    assert (await breaker.allow(TARGET)).state is OPEN


async def test_threshold_and_open_time_are_configurable(state_url: str, clock: FakeClock) -> None:
    breaker = open_breaker(state_url, threshold=2, open_seconds=5, clock=clock)
    try:
        await fail(breaker, 2)
        assert (await breaker.allow(TARGET)).retry_after == pytest.approx(5.0)
        clock.advance(5)
        assert (await breaker.allow(TARGET)).state is HALF_OPEN
    finally:
        await breaker.close()


# A random history on both backends must give the same decisions: memory is the model.
OPS = st.lists(
    st.one_of(
        st.just(("allow", 0.0)),
        st.just(("ok", 0.0)),
        st.just(("fail", 0.0)),
        st.tuples(st.just("wait"), st.sampled_from([0.5, 1.0, 2.0, 3.5])),
    ),
    max_size=40,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=OPS)
async def test_redis_decides_like_memory(ops: list[tuple[str, float]], redis_url: str) -> None:
    clock = FakeClock()
    model = CircuitBreaker(threshold=3, open_seconds=2, probe_seconds=1, clock=clock)
    shared = open_breaker(redis_url, threshold=3, open_seconds=2, probe_seconds=1, clock=clock)
    # One Redis key space for all examples: a new target per example keeps them apart.
    target = f"{TARGET}/{uuid.uuid4().hex}"
    try:
        for op, seconds in ops:
            if op == "allow":
                assert await shared.allow(target) == await model.allow(target)
            elif op == "wait":
                clock.advance(seconds)
            else:
                await model.record(target, ok=op == "ok")
                await shared.record(target, ok=op == "ok")
        assert await shared.allow(target) == await model.allow(target)
    finally:
        await shared.close()


# --- Redis specifics --------------------------------------------------------------------


async def test_redis_keys_do_not_contain_the_target(
    redis_url: str, redis_prefix: str, redis_client: Redis
) -> None:
    breaker = open_breaker(redis_url)
    try:
        await fail(breaker, 5, target="postgresql://app:secret@db:5432/app")
    finally:
        await breaker.close()
    keys = [key async for key in redis_client.scan_iter(match=f"{redis_prefix}:breaker:*")]
    assert len(keys) == 1
    assert b"secret" not in keys[0]
    assert await redis_client.hget(keys[0], "state") == b"open"
    assert await redis_client.pttl(keys[0]) > 0


async def test_a_healthy_target_leaves_no_key(
    redis_url: str, redis_prefix: str, redis_client: Redis
) -> None:
    breaker = open_breaker(redis_url)
    try:
        await fail(breaker, 3)
        assert [key async for key in redis_client.scan_iter(match=f"{redis_prefix}:*")]
        await breaker.record(TARGET, ok=True)
    finally:
        await breaker.close()
    assert [key async for key in redis_client.scan_iter(match=f"{redis_prefix}:*")] == []


async def test_unreachable_redis_state_raises_but_the_breaker_lets_calls_through() -> None:
    state = RedisBreakerState("redis://127.0.0.1:1/0")
    breaker = CircuitBreaker(state, clock=FakeClock())
    try:
        with pytest.raises(BackendUnavailable):
            await state.allow(TARGET, 0.0, breaker.policy)
        await fail(breaker, 10)
        assert await breaker.allow(TARGET) == BreakerDecision(True, None, CLOSED)
    finally:
        await breaker.close()


def test_open_breaker_picks_the_state_by_scheme() -> None:
    assert isinstance(open_breaker("local://").state, MemoryBreakerState)
    assert isinstance(open_breaker("redis://127.0.0.1:6379/0").state, RedisBreakerState)
    with pytest.raises(ConfigurationError):
        open_breaker("etcd://x")


@pytest.mark.parametrize(
    ("threshold", "open_seconds", "probe_seconds"), [(0, 30.0, None), (5, 0.0, None), (5, 30, 0)]
)
def test_a_nonsensical_policy_is_refused(
    threshold: int, open_seconds: float, probe_seconds: float | None
) -> None:
    with pytest.raises(ConfigurationError):
        CircuitBreaker(threshold=threshold, open_seconds=open_seconds, probe_seconds=probe_seconds)

"""Login throttling: 10 failures lock a user name or an address out (429) for the lockout
period, after which the real user logs in again; refreshes are rate-limited per
address. The clock is the test's: nothing sleeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vecron import TooManyRequests, Unauthenticated
from vecron_auth_db import DbAuthBackend
from vecron_auth_db.throttle import LoginThrottle

from .conftest import ADDRESS, PASSWORD, BackendFactory, Clock, add_user

WRONG = "not the password at all"


async def fail(backend: DbAuthBackend, name: str, address: str = ADDRESS, times: int = 1) -> None:
    for _ in range(times):
        with pytest.raises(Unauthenticated):
            await backend.login(name, WRONG, address)


async def test_ten_failures_lock_the_user_out_for_a_while(
    backend: DbAuthBackend, clock: Clock
) -> None:
    await add_user(backend, "target", "viewer")
    for attempt in range(10):  # from ten addresses: the user name is what counts here
        await fail(backend, "target", f"203.0.113.{attempt}")
    with pytest.raises(TooManyRequests) as caught:
        await backend.login("target", PASSWORD, "203.0.113.99")  # even the right password
    assert caught.value.status == 429 and caught.value.retry_after == 300
    assert caught.value.problem()["errors"][0]["params"]["retry_after"] == 300
    clock.advance(299)
    with pytest.raises(TooManyRequests) as still:
        await backend.login("Target", PASSWORD, "203.0.113.99")  # names count case-blind
    assert still.value.retry_after == 1
    clock.advance(1)
    assert (await backend.login("target", PASSWORD, "203.0.113.99")).access_token


async def test_ten_failures_lock_an_address_out(backend: DbAuthBackend, clock: Clock) -> None:
    for attempt in range(10):
        await fail(backend, f"guess-{attempt}")
    with pytest.raises(TooManyRequests):
        await backend.login("admin", PASSWORD, ADDRESS)
    assert await backend.login("admin", PASSWORD, "192.0.2.77")  # another address
    clock.advance(5 * 60)
    assert await backend.login("admin", PASSWORD, ADDRESS)


async def test_failures_age_out_of_the_window(backend: DbAuthBackend, clock: Clock) -> None:
    await add_user(backend, "slow", "viewer")
    await fail(backend, "slow", times=9)
    clock.advance(15 * 60)
    await fail(backend, "slow", times=9)
    assert await backend.login("slow", PASSWORD, ADDRESS)


async def test_a_success_clears_the_users_failures(backend: DbAuthBackend) -> None:
    await add_user(backend, "oops", "viewer")
    await fail(backend, "oops", "192.0.2.1", times=9)
    await backend.login("oops", PASSWORD, "192.0.2.2")
    await fail(backend, "oops", "192.0.2.3", times=9)
    assert await backend.login("oops", PASSWORD, "192.0.2.4")


async def test_the_limits_are_configurable(make_backend: BackendFactory, clock: Clock) -> None:
    backend = await make_backend(login_max_failures=3, lockout_seconds=60)
    await fail(backend, "admin", times=3)
    with pytest.raises(TooManyRequests) as caught:
        await backend.login("admin", PASSWORD, "192.0.2.200")
    assert caught.value.retry_after == 60
    clock.advance(60)
    assert await backend.login("admin", PASSWORD, "192.0.2.200")


async def test_refreshes_are_rate_limited_per_address(
    make_backend: BackendFactory, clock: Clock
) -> None:
    backend = await make_backend(refresh_per_minute=3)
    token = (await backend.login("admin", PASSWORD, ADDRESS)).refresh_token
    for _ in range(3):
        token = (await backend.refresh(token, ADDRESS)).refresh_token
    with pytest.raises(TooManyRequests) as caught:
        await backend.refresh(token, ADDRESS)
    assert 0 < caught.value.retry_after <= 60
    token = (await backend.refresh(token, "192.0.2.55")).refresh_token  # another address
    clock.advance(60)
    assert await backend.refresh(token, ADDRESS)


@given(
    failures=st.lists(st.integers(min_value=0, max_value=600), max_size=40),
    max_failures=st.integers(min_value=1, max_value=10),
)
def test_nobody_is_locked_out_for_longer_than_the_lockout(
    failures: list[int], max_failures: int
) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    moments = iter(sorted(failures))
    clock = Clock(now)
    throttle = LoginThrottle(
        max_failures=max_failures,
        window=timedelta(minutes=15),
        lockout=timedelta(minutes=5),
        clock=clock,
    )
    waits: list[float] = []
    for second in moments:
        clock.now = now + timedelta(seconds=second)
        try:
            throttle.check(["user:x"])
        except TooManyRequests as exc:
            waits.append(exc.retry_after)
            continue
        throttle.failed(["user:x"])
    assert all(0 < wait <= 300 for wait in waits)
    clock.now = now + timedelta(seconds=max(failures, default=0) + 300)
    throttle.check(["user:x"])  # the lockout has passed: no error


def test_memory_stays_bounded_under_a_flood_of_names() -> None:
    clock = Clock()
    throttle = LoginThrottle(
        max_failures=10,
        window=timedelta(minutes=15),
        lockout=timedelta(minutes=5),
        clock=clock,
        max_keys=100,
    )
    for number in range(1000):
        throttle.failed([f"user:made-up-{number}"])
    assert len(throttle._windows._tracks) == 100

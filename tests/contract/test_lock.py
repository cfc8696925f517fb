"""The lock contract, on ``local://`` and on ``redis://`` (a fresh key prefix per test)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from redis.asyncio import Redis

from tests.support.redis_fixtures import (  # noqa: F401
    redis_client_fixture,
    redis_prefix_fixture,
    redis_server_url_fixture,
    redis_url_fixture,
)
from vecron.errors import BackendUnavailable, ConfigurationError
from vecron.lock import Lock, open_lock
from vecron.lock.local import LocalLock
from vecron.lock.redis import RedisLock, split_prefix
from vecron.urls import redact_url

LockFactory = Callable[[], Awaitable[Lock]]
SHORT = 0.3
PAST_SHORT = 0.6


@pytest.fixture(params=["local", "redis"])
def lock_url(request: pytest.FixtureRequest) -> str:
    if request.param == "local":
        return "local://"
    url: str = request.getfixturevalue("redis_url")
    return url


@pytest.fixture
async def lock_factory(lock_url: str) -> AsyncIterator[LockFactory]:
    """More locks on the same backend, as separate processes would hold them. An
    in-process lock is shared only inside its process, so there it is one object."""
    opened: list[Lock] = []

    async def open_one() -> Lock:
        if opened and lock_url.startswith("local://"):
            return opened[0]
        lock = open_lock(lock_url)
        await lock.start()
        opened.append(lock)
        return lock

    yield open_one
    for lock in opened:
        await lock.close()


@pytest.fixture
async def lock(lock_factory: LockFactory) -> Lock:
    return await lock_factory()


async def test_acquire_when_free(lock: Lock) -> None:
    assert await lock.acquire("leader", "a", 10) is True


async def test_second_owner_is_refused_while_held(lock_factory: LockFactory) -> None:
    one, two = await lock_factory(), await lock_factory()
    assert await one.acquire("leader", "a", 10)
    assert await two.acquire("leader", "b", 10) is False
    assert await one.acquire("leader", "a", 10) is True


async def test_holder_reacquiring_extends_the_lease(lock_factory: LockFactory) -> None:
    one, two = await lock_factory(), await lock_factory()
    assert await one.acquire("leader", "a", SHORT)
    assert await one.acquire("leader", "a", 30) is True
    await asyncio.sleep(PAST_SHORT)
    assert await two.acquire("leader", "b", 10) is False


async def test_expired_lease_goes_to_another_owner(lock_factory: LockFactory) -> None:
    one, two = await lock_factory(), await lock_factory()
    assert await one.acquire("leader", "a", SHORT)
    await asyncio.sleep(PAST_SHORT)
    assert await two.acquire("leader", "b", 10) is True
    assert await one.acquire("leader", "a", 10) is False


async def test_release_by_a_non_owner_does_nothing(lock_factory: LockFactory) -> None:
    one, two = await lock_factory(), await lock_factory()
    assert await one.acquire("leader", "a", 10)
    await two.release("leader", "b")
    assert await two.acquire("leader", "b", 10) is False
    assert await one.acquire("leader", "a", 10) is True


async def test_release_by_the_owner_frees_it(lock_factory: LockFactory) -> None:
    one, two = await lock_factory(), await lock_factory()
    assert await one.acquire("leader", "a", 10)
    await one.release("leader", "a")
    assert await two.acquire("leader", "b", 10) is True


async def test_late_release_after_expiry_leaves_the_new_holder(lock_factory: LockFactory) -> None:
    one, two, three = await lock_factory(), await lock_factory(), await lock_factory()
    assert await one.acquire("leader", "a", SHORT)
    await asyncio.sleep(PAST_SHORT)
    assert await two.acquire("leader", "b", 10)
    await one.release("leader", "a")
    assert await three.acquire("leader", "c", 10) is False


async def test_releasing_a_free_lock_is_harmless(lock: Lock) -> None:
    await lock.release("leader", "a")
    assert await lock.acquire("leader", "a", 10) is True


async def test_names_are_independent(lock_factory: LockFactory) -> None:
    one, two = await lock_factory(), await lock_factory()
    assert await one.acquire("scheduler", "a", 10)
    assert await two.acquire("reconciler", "b", 10) is True
    assert await two.acquire("scheduler", "b", 10) is False


async def test_concurrent_acquire_by_ten_owners_has_one_winner(lock_factory: LockFactory) -> None:
    locks = [await lock_factory() for _ in range(10)]
    won = await asyncio.gather(
        *(lock.acquire("leader", f"owner-{i}", 10) for i, lock in enumerate(locks))
    )
    assert won.count(True) == 1
    winner = f"owner-{won.index(True)}"
    assert await locks[0].acquire("leader", winner, 10) is True


# --- redis:// specifics ---------------------------------------------------------------


async def test_redis_keys_are_prefixed_and_hold_the_owner(
    redis_url: str, redis_prefix: str, redis_client: Redis
) -> None:
    lock = open_lock(redis_url)
    assert isinstance(lock, RedisLock)
    try:
        assert await lock.acquire("leader", "a", 10)
        assert await redis_client.get(f"{redis_prefix}:lock:leader") == b"a"
        ttl_ms = await redis_client.pttl(f"{redis_prefix}:lock:leader")
        assert 0 < ttl_ms <= 10_000
    finally:
        await lock.close()


async def test_redis_lock_defaults_to_the_vecron_prefix(redis_client: Redis) -> None:
    lock = RedisLock(redis_client)
    assert lock.link.key("lock", "leader") == "vecron:lock:leader"
    assert RedisLock(redis_client, prefix="other").link.key("lock", "x") == "other:lock:x"


async def test_borrowed_client_stays_open(redis_client: Redis, redis_prefix: str) -> None:
    lock = RedisLock(redis_client, prefix=redis_prefix)
    assert await lock.acquire("leader", "a", 10)
    await lock.close()
    assert await redis_client.ping() is True
    assert await redis_client.get(f"{redis_prefix}:lock:leader") == b"a"


async def test_client_opened_from_a_url_is_closed(
    redis_url: str, redis_prefix: str, redis_client: Redis
) -> None:
    name = f"{redis_prefix}-conn"
    lock = open_lock(f"{redis_url}&client_name={name}")
    await lock.ping()

    async def names() -> list[str]:
        return [str(client.get("name")) for client in await redis_client.client_list()]

    assert name in await names()
    await lock.close()
    for _ in range(40):  # the server notices the closed socket asynchronously
        if name not in await names():
            break
        await asyncio.sleep(0.05)
    assert name not in await names()


async def test_unreachable_redis_raises_backend_unavailable() -> None:
    lock = RedisLock("redis://:secret@127.0.0.1:1/0")
    try:
        with pytest.raises(BackendUnavailable) as caught:
            await lock.acquire("leader", "a", 10)
        assert caught.value.status == 503
        assert caught.value.exit_code == 69
        assert caught.value.code == "backend-unavailable"
        assert "127.0.0.1:1" in caught.value.message
        assert "secret" not in caught.value.one_line()
        with pytest.raises(BackendUnavailable):
            await lock.release("leader", "a")
        with pytest.raises(BackendUnavailable):
            await lock.ping()
    finally:
        await lock.close()


def test_prefix_is_taken_out_of_the_url() -> None:
    assert split_prefix("redis://h:6379/2?prefix=p&client_name=x") == (
        "redis://h:6379/2?client_name=x",
        "p",
    )
    assert split_prefix("redis://h:6379/0") == ("redis://h:6379/0", None)


def test_passwords_are_hidden_in_shown_urls() -> None:
    assert redact_url("redis://u:pw@h:6379/0") == "redis://u:***@h:6379/0"
    assert redact_url("redis://h:6379/0") == "redis://h:6379/0"


def test_open_lock_picks_the_backend_by_scheme() -> None:
    assert isinstance(open_lock("local://"), LocalLock)
    assert isinstance(open_lock("redis://127.0.0.1:6379/0"), RedisLock)
    with pytest.raises(ConfigurationError):
        open_lock("zookeeper://x")

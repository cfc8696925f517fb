"""One pool per DSN, bounded, closed with the worker."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

from sqlalchemy import text

from vecron.plugin.executor import StepContext
from vecron_database import DatabaseConfig, DatabaseExecutor
from vecron_database.dsn import database_url
from vecron_database.engines import EngineCache


async def test_engines_are_reused_per_dsn_and_the_least_recent_is_closed(tmp_path: Path) -> None:
    cache = EngineCache(limit=2)
    urls = [database_url(f"sqlite:///{tmp_path}/{name}.db") for name in "abc"]
    a = await cache.get(urls[0])
    b = await cache.get(urls[1])
    assert await cache.get(urls[0]) is a  # a is now the most recently used
    await cache.get(urls[2])
    assert len(cache) == 2
    assert await cache.get(urls[0]) is a
    assert await cache.get(urls[1]) is not b  # b was closed and made again
    await cache.aclose()
    assert len(cache) == 0


async def test_a_pool_in_use_is_not_closed(tmp_path: Path) -> None:
    cache = EngineCache(limit=1)
    first = await cache.get(database_url(f"sqlite:///{tmp_path}/a.db"))
    async with first.connect() as conn:
        await cache.get(database_url(f"sqlite:///{tmp_path}/b.db"))
        assert len(cache) == 2  # over the limit until the first is idle
        assert (await conn.execute(text("SELECT 1"))).scalar() == 1
    await cache.get(database_url(f"sqlite:///{tmp_path}/c.db"))
    assert len(cache) == 1
    await cache.aclose()


async def test_another_password_is_another_pool(tmp_path: Path) -> None:
    cache = EngineCache()
    one = await cache.get(database_url("postgresql://u:one@db/x"))
    two = await cache.get(database_url("postgresql://u:two@db/x"))
    assert one is not two
    await cache.aclose()


async def test_the_worker_exit_stack_closes_the_pools(tmp_path: Path, ctx: StepContext) -> None:
    executor = DatabaseExecutor()
    async with AsyncExitStack() as stack:
        await executor.start(stack)
        await executor.run(
            ctx,
            DatabaseConfig.model_validate({"dsn": f"sqlite:///{tmp_path}/x.db", "sql": "SELECT 1"}),
        )
        assert len(executor.engines) == 1
    assert len(executor.engines) == 0

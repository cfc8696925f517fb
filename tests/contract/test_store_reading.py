"""``Store.reading()``: the reads of one task share one connection, and nothing else
does (issue #11: a page of jobs and its statistics cost one connection, not two)."""

from __future__ import annotations

import asyncio
import contextvars

import pytest

from tests.contract.conftest import StoreFactory
from vecron.errors import NotFoundError
from vecron.store.sql import SqlStore


async def connection_of(store: SqlStore) -> object:
    async with store.connect() as conn:
        return conn


async def test_reads_inside_share_one_connection_and_outside_do_not(store: SqlStore) -> None:
    async with store.reading():
        shared = await connection_of(store)
        assert await connection_of(store) is shared
        assert await store.list_jobs() == []  # the store's own reads run on it too
        async with store.reading():  # nested: the outer block's connection
            assert await connection_of(store) is shared
    # Outside any block every read has a connection of its own, opened and closed.
    async with store.connect() as one, store.connect() as two:
        assert one is not two
        assert shared not in (one, two)


async def test_other_tasks_and_other_stores_read_on_their_own(
    store: SqlStore, store_factory: StoreFactory
) -> None:
    other_store = await store_factory()
    async with store.reading():
        shared = await connection_of(store)
        # Another request: a task with a context of its own.
        elsewhere = await asyncio.create_task(connection_of(store), context=contextvars.Context())
        assert elsewhere is not shared
        assert await connection_of(other_store) is not shared


async def test_a_failed_read_inside_leaves_the_store_usable(store: SqlStore) -> None:
    with pytest.raises(NotFoundError):
        async with store.reading():
            await store.get_job("no-such-job")
    assert await store.list_jobs() == []
    async with store.reading():
        assert await store.list_jobs() == []

"""The store's alert state (:meth:`Store.advance_alerts`), on SQLite and PostgreSQL:
advanced atomically, so that concurrent writers — two processes, each its own engine —
never lose one another's counts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from vecron.models.alerts import AlertState

from .conftest import StoreFactory

T0 = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def grow(job_ids: list[str]) -> Callable[[Mapping[str, AlertState]], dict[str, AlertState]]:
    def step(states: Mapping[str, AlertState]) -> dict[str, AlertState]:
        return {
            job_id: AlertState(states[job_id].streak + 1, states[job_id].alerted_at or T0)
            for job_id in job_ids
        }

    return step


async def test_a_new_job_starts_empty_and_its_state_round_trips(
    store_factory: StoreFactory,
) -> None:
    store = await store_factory()
    seen: list[Mapping[str, AlertState]] = []

    def look(states: Mapping[str, AlertState]) -> Mapping[str, AlertState]:
        seen.append(dict(states))
        return {"a": AlertState(2, T0, T0)}

    await store.advance_alerts(["a"], look)
    await store.advance_alerts(["a"], look)
    assert seen == [{"a": AlertState()}, {"a": AlertState(2, T0, T0)}]


async def test_concurrent_writers_on_separate_engines_lose_no_count(
    store_factory: StoreFactory,
) -> None:
    first, second = await store_factory(), await store_factory()
    jobs = ["j1", "j2", "j3"]
    # Each call locks the jobs in id order; both orders of the lists are given.
    await asyncio.gather(
        *(first.advance_alerts(jobs, grow(jobs)) for _ in range(20)),
        *(second.advance_alerts(jobs[::-1], grow(jobs[::-1])) for _ in range(20)),
    )
    final: dict[str, AlertState] = {}

    def read(states: Mapping[str, AlertState]) -> Mapping[str, AlertState]:
        final.update(states)
        return states

    await first.advance_alerts(jobs, read)
    assert {job: state.streak for job, state in final.items()} == {j: 40 for j in jobs}

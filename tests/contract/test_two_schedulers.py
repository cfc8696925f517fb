"""Two scheduler loops on one database: every fire time becomes exactly one execution."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from itertools import pairwise

import pluggy

from vecron.auth import LOCAL_OPERATOR
from vecron.models.execution import OccurrenceStatus
from vecron.runtime import Runtime
from vecron.settings import Settings

JOBS = 20
SECONDS = 4


async def test_two_schedulers_fire_each_time_once(
    store_url: str, test_pm: pluggy.PluginManager
) -> None:
    settings = Settings(database_url=store_url, port=0, scheduler_lookahead=0.5)
    async with Runtime(settings, pm=test_pm) as one, Runtime(settings, pm=test_pm) as two:
        await one.jobs.save_many(
            LOCAL_OPERATOR,
            [
                one.jobs.parse(
                    {
                        "name": f"every-second-{i}",
                        "timezone": "UTC",
                        "triggers": [{"type": "cron", "expression": "* * * * * ?"}],
                        "steps": [{"id": "a", "type": "record"}],
                    }
                )
                for i in range(JOBS)
            ],
        )
        stop = asyncio.Event()
        loops = [asyncio.create_task(rt.scheduler().run(stop)) for rt in (one, two)]
        await asyncio.sleep(SECONDS)
        stop.set()
        await asyncio.gather(*loops)

        executions = await one.store.list_executions(limit=100_000)
        keys = Counter((e.job_id, e.scheduled_at) for e in executions)
        assert keys and max(keys.values()) == 1, "a fire time produced two executions"
        assert len({e.idempotency_key for e in executions}) == len(executions)
        per_job: dict[str, list] = {}
        for e in executions:
            per_job.setdefault(e.job_id, []).append(e.scheduled_at)
        assert len(per_job) == JOBS
        for job_id, fires in per_job.items():
            fires.sort()
            assert len(fires) >= SECONDS - 1
            # No fire time was lost between the first and the last: one per second.
            assert all(b - a == timedelta(seconds=1) for a, b in pairwise(fires))
            ledger = await one.store.occurrences(job_id, limit=1000)
            assert (
                sorted(o.fire_time for o in ledger if o.status is OccurrenceStatus.FIRED) == fires
            )

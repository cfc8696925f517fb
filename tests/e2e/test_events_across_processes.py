"""Issue 10, acceptance 5: what a worker does in one process is seen, typed, by an
observer in another (real PostgreSQL, NATS and Redis; `vecron scheduler` and `vecron worker` are
processes of their own; the observer is this test's process).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from cryptography.fernet import Fernet

from tests.support.cluster import Cluster, distributed_env, settings_of, unique
from tests.support.pg_fixtures import postgresql_url  # noqa: F401  (a fixture)
from tests.support.web import serve
from vecron.auth import LOCAL_OPERATOR
from vecron.events import (
    DeadLettered,
    Event,
    EventKind,
    ExecutionCreated,
    ExecutionFinished,
    ExecutionStarted,
    JobChanged,
    RetryScheduled,
    StepFinished,
    Subscription,
)
from vecron.runtime import Runtime

pytestmark = pytest.mark.slow

#: A secret the failing job puts in its URL: the error texts carry the URL.
SECRET = "s3cr3t-" + "f1x7ure"


class Flaky:
    """``/flaky`` fails each step's first request (HTTP 503) and then answers 200;
    ``/down`` always answers 500."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self.url = ""

    def app(self) -> web.Application:
        async def flaky(request: web.Request) -> web.Response:
            key = request.headers.get("Idempotency-Key", "")
            self.seen[key] += 1
            return web.Response(status=503 if self.seen[key] == 1 else 200, text="ok")

        async def down(request: web.Request) -> web.Response:
            return web.Response(status=500, text="broken")

        app = web.Application()
        app.router.add_get("/flaky", flaky)
        app.router.add_get("/down", down)
        return app


@pytest.fixture
async def target() -> AsyncIterator[Flaky]:
    flaky = Flaky()
    async with serve(flaky.app()) as url:
        flaky.url = url
        yield flaky


@pytest.fixture
async def env(postgresql_url: str) -> dict[str, str]:  # noqa: F811
    return distributed_env(postgresql_url, secret_keys=Fernet.generate_key().decode())


@pytest.fixture
async def observer(env: dict[str, str]) -> AsyncIterator[Runtime]:
    async with Runtime(settings_of(env)) as runtime:
        yield runtime


def jobs(target: Flaky, suffix: str) -> dict[str, dict[str, Any]]:
    at = (datetime.now(UTC) + timedelta(seconds=3)).isoformat()
    once = [{"type": "once", "at": at}]
    return {
        "recovers": {
            "name": f"recovers{suffix}",
            "triggers": once,
            "retry": {"max_attempts": 3, "delay": 0.2, "jitter": 0},
            "steps": [{"id": "call", "type": "http", "url": f"{target.url}/flaky"}],
        },
        "doomed": {
            "name": f"doomed{suffix}",
            "triggers": once,
            "retry": {"max_attempts": 2, "delay": 0.2, "jitter": 0},
            "steps": [
                {
                    "id": "call",
                    "type": "http",
                    "url": f"{target.url}/down?token={{{{ vars.TOKEN }}}}",
                }
            ],
        },
    }


async def collect(events: Subscription, done: Any, timeout: float = 30) -> list[Event]:
    """Events as they arrive, until ``done(events)`` holds."""
    seen: list[Event] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not done(seen):
        try:
            seen.append(await events.next(timeout=max(0.0, deadline - loop.time())))
        except TimeoutError:
            kinds = [(type(e).__name__, getattr(e, "execution_id", "")) for e in seen]
            raise AssertionError(f"events still missing after {timeout} s; got {kinds}") from None
    return seen


async def test_a_worker_elsewhere_is_seen_typed_by_an_observer(
    cluster: Cluster, observer: Runtime, target: Flaky
) -> None:
    suffix = unique("-")
    async with observer.events.subscribe() as events:
        cluster.start("scheduler", "scheduler")
        cluster.start("worker", "worker")
        cluster.cli("var", "set", "TOKEN", "--secret", "--from-stdin", stdin=SECRET)
        # Saved here, at once: a `once` already past when saved would never fire.
        for document in jobs(target, suffix).values():
            await observer.jobs.save(LOCAL_OPERATOR, observer.jobs.parse(document))

        def both_ended(seen: list[Event]) -> bool:
            finished = {e.status for e in seen if isinstance(e, ExecutionFinished)}
            dead = any(isinstance(e, DeadLettered) for e in seen)
            return dead and {"succeeded", "failed"} <= finished

        seen = await collect(events, both_ended)

    names = {e.job_name: e.job_id for e in seen if isinstance(e, JobChanged)}
    recovers, doomed = names[f"recovers{suffix}"], names[f"doomed{suffix}"]

    def story(job_id: str) -> list[tuple[Any, ...]]:
        """Each event of the job's execution, in arrival order, with what matters."""
        out: list[tuple[Any, ...]] = []
        for e in seen:
            if getattr(e, "job_id", None) != job_id or isinstance(e, JobChanged):
                continue
            match e:
                case ExecutionCreated():
                    out.append((e.kind, e.trigger))
                case ExecutionStarted():
                    out.append((e.kind, e.attempt))
                case StepFinished():
                    out.append((e.kind, e.step_id, e.status))
                case RetryScheduled():
                    out.append((e.kind, e.attempt))
                case ExecutionFinished():
                    out.append((e.kind, e.status))
                case DeadLettered():
                    out.append((e.kind, e.attempts))
        return out

    assert story(recovers) == [
        (EventKind.EXECUTION_CREATED, "schedule"),
        (EventKind.EXECUTION_STARTED, 1),
        (EventKind.STEP_FINISHED, "call", "failed"),
        (EventKind.RETRY_SCHEDULED, 1),
        (EventKind.EXECUTION_STARTED, 2),
        (EventKind.STEP_FINISHED, "call", "succeeded"),
        (EventKind.EXECUTION_FINISHED, "succeeded"),
    ]
    told = story(doomed)
    assert told[:5] == [
        (EventKind.EXECUTION_CREATED, "schedule"),
        (EventKind.EXECUTION_STARTED, 1),
        (EventKind.STEP_FINISHED, "call", "failed"),
        (EventKind.RETRY_SCHEDULED, 1),
        (EventKind.EXECUTION_STARTED, 2),
    ]
    assert sorted(told[5:], key=str) == sorted(
        [
            (EventKind.STEP_FINISHED, "call", "failed"),
            (EventKind.EXECUTION_FINISHED, "failed"),
            (EventKind.DEAD_LETTERED, 2),
        ],
        key=str,
    )
    # Every kind of both executions arrived, as its own class.
    assert {e.kind for e in seen} >= {
        EventKind.EXECUTION_CREATED,
        EventKind.EXECUTION_STARTED,
        EventKind.STEP_FINISHED,
        EventKind.RETRY_SCHEDULED,
        EventKind.EXECUTION_FINISHED,
        EventKind.DEAD_LETTERED,
        EventKind.JOB_CHANGED,
    }
    # The errors are the masked texts the store keeps; no event carries the secret.
    dead = next(e for e in seen if isinstance(e, DeadLettered))
    assert dead.error and "500" in dead.error and SECRET not in dead.error
    assert not [e for e in seen if SECRET in e.model_dump_json()]
    # The store agrees: it is the truth the events hint at.
    stored = await observer.store.get_execution(dead.execution_id)
    assert stored.status.value == "failed" and stored.dead_lettered_at is not None
    assert stored.error == dead.error

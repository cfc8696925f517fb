"""Acceptance 3 (issue 12), in real time against real processes:

- 10,000 signed deliveries in 10 s at a job of a ``vecron up`` limited to 10 a second
  with a burst of 10: accepted within 10% of what the bucket allows over the time the
  flood took, the rest 429, no 5xx, and the server's RSS grows by under 20 MB;
- distributed mode: two ``vecron api`` processes on one PostgreSQL and one Redis,
  deliveries alternating between them, together accept no more than one bucket allows.

Deliveries are signed by the reference ``standardwebhooks`` library before the clock
starts, so the sender's cost is the sending alone.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import aiohttp
import psutil
import pytest

from tests.api.real_server import start_up, up_env
from tests.plugins.trigger_webhook.signed import json_body, signed_headers, webhook_job
from tests.support.cluster import Cluster, distributed_env, settings_of, until
from tests.support.pg_fixtures import postgresql_url  # noqa: F401  (a fixture)
from tests.support.private_servers import free_port
from vecron import LOCAL_OPERATOR, Runtime
from vecron_trigger_webhook import WebhookService
from vecron_trigger_webhook.limits import MemoryLimits

pytestmark = pytest.mark.slow

RATE, BURST = 10, 10
BODY = json_body({"order_id": "FLOOD-1"})
Request = tuple[str, dict[str, str]]


def signed(urls: Sequence[str], secret: str, count: int) -> list[Request]:
    """``count`` deliveries, each with its own id, spread over ``urls`` in turn."""
    return [(urls[n % len(urls)], signed_headers(secret, BODY)) for n in range(count)]


async def flood(requests: Sequence[Request], seconds: float) -> tuple[Counter[int], float]:
    """Send ``requests`` evenly over ``seconds``; the statuses, and how long it took
    from the first send to the last answer."""
    statuses: Counter[int] = Counter()
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def send(url: str, headers: dict[str, str]) -> None:
            async with session.post(url, data=BODY, headers=headers) as answer:
                await answer.read()
                statuses[answer.status] += 1

        loop = asyncio.get_running_loop()
        start = loop.time()
        tasks = []
        for n, (url, headers) in enumerate(requests):
            due = start + n * seconds / len(requests)
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            tasks.append(asyncio.create_task(send(url, headers)))
        await asyncio.gather(*tasks)
        return statuses, loop.time() - start


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return up_env(tmp_path)


async def test_a_flood_at_vecron_up_is_held_to_the_bucket(cluster: Cluster) -> None:
    served = await start_up(cluster)
    token = (await served.login())["access_token"]
    hooks = {}
    for name, limits in (("warm-up", {"rate": 1000, "burst": 1000}), ("flooded", {})):
        job = webhook_job(name, rate=limits.get("rate", RATE), burst=limits.get("burst", BURST))
        status, _, body = await served.call("POST", "/jobs", token=token, json=job)
        assert status == 201, body
        status, _, made = await served.call("POST", f"/jobs/{name}/webhook:regenerate", token=token)
        assert status == 200, made
        hooks[name] = (served.base + made["path"], made["secret"])
    server = psutil.Process(cluster.procs["up"].pid)
    warm_url, warm_secret = hooks["warm-up"]
    warmed, _ = await flood(signed([warm_url], warm_secret, 1000), 2)
    assert set(warmed) == {202}, warmed
    rss_before = server.memory_info().rss
    url, secret = hooks["flooded"]
    statuses, took = await flood(signed([url], secret, 10_000), 10)
    grown = server.memory_info().rss - rss_before
    allowed = BURST + RATE * took
    shown = f"{dict(statuses)} in {took:.2f} s; allowed {allowed:.0f}; RSS +{grown / 2**20:.1f} MiB"
    print(f"flood: {shown}")
    assert set(statuses) <= {202, 429}, statuses
    assert abs(statuses[202] - allowed) <= 0.1 * allowed, (statuses, took)
    assert took < 15, f"the flood took {took:.1f} s: the server fell behind"
    assert grown < 20 * 1024 * 1024, f"RSS grew {grown / 2**20:.1f} MiB"


async def test_two_api_processes_on_one_redis_share_one_bucket(
    postgresql_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    env = distributed_env(postgresql_url)
    settings = settings_of(env)
    async with Runtime(settings) as rt:  # migrations, the job and its secret
        await rt.jobs.save(
            LOCAL_OPERATOR, rt.jobs.parse(webhook_job("shared", rate=RATE, burst=BURST))
        )
        made = await WebhookService(rt, MemoryLimits(time.monotonic)).regenerate(
            LOCAL_OPERATOR, "shared"
        )
    assert made.secret is not None
    cluster = Cluster(tmp_path, env)
    try:
        bases = []
        for name in ("api-1", "api-2"):
            port = str(free_port())
            cluster.start(name, "api", "--port", port)
            bases.append(f"http://127.0.0.1:{port}")

        async def both_ready() -> bool:
            try:
                async with aiohttp.ClientSession() as session:
                    for base in bases:
                        async with session.get(f"{base}/readyz") as answer:
                            if answer.status != 200:
                                return False
                return True
            except aiohttp.ClientError:
                return False

        await until(both_ready, timeout=60)
        urls = [base + made.path for base in bases]
        statuses, took = await flood(signed(urls, made.secret, 3000), 3)
    finally:
        cluster.stop_all()
    allowed = BURST + RATE * took
    print(f"two processes: {dict(statuses)} in {took:.2f} s; one bucket allows {allowed:.1f}")
    assert set(statuses) <= {202, 429}, statuses
    assert statuses[202] <= allowed, (statuses, took)
    # Each process alone would have taken its own burst: together they took one.
    assert statuses[202] >= BURST

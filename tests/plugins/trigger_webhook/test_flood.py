"""Acceptance 3 (issue 12), the count: 10,000 signed deliveries in 10 s (of a clock the
test moves) at a job limited to 10 a second with a burst of 10 are accepted within 10%
of what the bucket allows (10 + 10 x 10), the rest refused with 429 and nothing else;
every accepted one is one execution; the process's memory grows by under 20 MB.

The real-time flood against real processes (and two API processes sharing one Redis
bucket) is tests/e2e/test_webhook_flood.py."""

from __future__ import annotations

import psutil

from tests.plugins.trigger_webhook.direct import Clock, delivery, service_on, webhook_job_saved
from tests.plugins.trigger_webhook.signed import json_body
from vecron import LOCAL_OPERATOR, Runtime, TooManyRequests

DELIVERIES = 10_000
SECONDS = 10.0
RATE, BURST = 10, 10


async def test_a_flood_is_held_to_the_bucket(runtime: Runtime) -> None:
    clock = Clock()
    service = service_on(runtime, clock)
    await webhook_job_saved(runtime, "flooded", rate=RATE, burst=BURST)
    made = await service.regenerate(LOCAL_OPERATOR, "flooded")
    assert made.secret is not None
    body = json_body({"order_id": "F-1"})
    process = psutil.Process()
    accepted: list[str] = []
    waits: list[float] = []
    step = SECONDS / DELIVERIES
    for n in range(DELIVERIES):
        if n == 500:  # warmed up: caches, pools and pydantic's models are made
            rss_before = process.memory_info().rss
        try:
            answer = await service.deliver(
                delivery(made.hook_id, made.secret, body, at=clock.now, delivery_id=f"msg_{n}")
            )
        except TooManyRequests as exc:
            waits.append(exc.retry_after)
        else:
            assert answer.created
            accepted.append(answer.execution_id)
        clock.advance(step)
    allowed = BURST + RATE * SECONDS
    assert abs(len(accepted) - allowed) <= 0.1 * allowed, len(accepted)
    assert len(accepted) + len(waits) == DELIVERIES
    assert all(0 < wait <= 1 / RATE + 1e-9 for wait in waits)
    page = await runtime.executions.list_executions(LOCAL_OPERATOR, job="flooded", limit=500)
    assert sorted(e.id for e in page.items) == sorted(accepted)
    grown = process.memory_info().rss - rss_before
    assert grown < 20 * 1024 * 1024, f"RSS grew {grown / 2**20:.1f} MiB"

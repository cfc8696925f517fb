"""The webhook service driven directly, on a clock the test moves: deliveries built
as the route builds them, signed by the reference ``standardwebhooks`` library."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.plugins.trigger_webhook.signed import signed_headers, webhook_job
from vecron import LOCAL_OPERATOR, Runtime
from vecron_trigger_webhook import Delivery, WebhookService
from vecron_trigger_webhook.limits import Limits, MemoryLimits


@dataclass
class Clock:
    """Aware UTC time that moves only when told."""

    now: datetime = field(default_factory=lambda: datetime(2027, 2, 6, 8, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def seconds(self) -> float:
        return self.now.timestamp()

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def service_on(rt: Runtime, clock: Clock, limits: Limits | None = None) -> WebhookService:
    return WebhookService(rt, limits or MemoryLimits(clock.seconds), clock=clock)


def delivery(
    hook_id: str, secret: str, body: bytes, *, at: datetime, delivery_id: str | None = None
) -> Delivery:
    headers = signed_headers(secret, body, at=at, delivery_id=delivery_id)

    async def read(most: int) -> bytes:
        return body[:most]

    return Delivery(
        hook_id=hook_id,
        headers={k.lower(): v for k, v in headers.items()},
        query={},
        media="application/json",
        charset=None,
        size=len(body),
        read=read,
        address="192.0.2.10",
    )


async def webhook_job_saved(rt: Runtime, name: str, **trigger: Any) -> None:
    await rt.jobs.save(LOCAL_OPERATOR, rt.jobs.parse(webhook_job(name, **trigger)))

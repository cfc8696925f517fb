"""The ``webhook`` trigger type: a job that lists it may be started by a signed HTTP call.

``{"type": "webhook", "rate": 10, "burst": 20}`` in a job's ``triggers``. The trigger is
event-driven: the scheduler never asks it for a fire time; the route
``POST /api/v1/hooks/{hook_id}`` fires the job.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from vecron import Trigger, TriggerConfig, TriggerState

#: The largest body a job may allow (the default is 1 MiB).
MAX_BODY_LIMIT = 64 * 1024 * 1024


class WebhookConfig(TriggerConfig):
    """Signed HTTP calls (Standard Webhooks) start the job: `POST /api/v1/hooks/{hook_id}`.

    `vecron job webhook NAME` shows the URL; the signing secret is shown when it is
    made or regenerated.
    """

    rate: float = Field(
        10.0, gt=0, le=100_000, description="Deliveries per second the job accepts, on average."
    )
    burst: int = Field(
        20, ge=1, le=1_000_000, description="Deliveries accepted at once before `rate` applies."
    )
    grace: float = Field(
        0.0,
        ge=0,
        le=30 * 86_400,
        description="Seconds the previous secret still verifies after a regeneration.",
    )
    max_body: int = Field(
        1024 * 1024, ge=1, le=MAX_BODY_LIMIT, description="Largest body accepted, in bytes."
    )


class WebhookTrigger(Trigger[WebhookConfig]):
    """Event-driven: fired by the webhook route, never by the scheduler."""

    kind = "webhook"
    Config = WebhookConfig
    scheduled = False

    def next_fire_time(self, after: datetime, state: TriggerState) -> None:
        return None

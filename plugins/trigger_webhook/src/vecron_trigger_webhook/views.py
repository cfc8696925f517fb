"""What the webhook service returns: the CLI's ``--json`` and the API print these."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class WebhookView(BaseModel):
    """A job's webhook endpoint. ``secret`` is there only in the answer that made it."""

    model_config = ConfigDict(frozen=True)

    job: str = Field(description="The job's name.")
    hook_id: str = Field(description="The unguessable part of the endpoint's URL.")
    path: str = Field(description="The endpoint's path: POST signed deliveries here.")
    url: str | None = Field(None, description="The endpoint's URL, where the server knows it.")
    secret: str | None = Field(
        None,
        description="The signing secret (whsec_...): shown once, when made or regenerated.",
    )
    enabled: bool = Field(description="Whether the job lists the webhook trigger.")
    created_at: datetime
    rotated_at: datetime = Field(description="When the current secret was made.")
    previous_valid_until: datetime | None = Field(
        None, description="Until when the secret before this one still verifies."
    )


class WebhookAccepted(BaseModel):
    """A delivery was accepted: the execution it started (or, for a repeated webhook-id,
    the one the first delivery started)."""

    model_config = ConfigDict(frozen=True)

    execution_id: str
    created: bool = Field(description="False when the webhook-id named an earlier delivery.")

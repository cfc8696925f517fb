"""View of a test alert (``vecron alerts test``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class AlertTestView(BaseModel):
    """A test alert that a notifier took."""

    model_config = ConfigDict(frozen=True)

    notifier: str
    type: str
    """The notifier's kind (``log``, ``webhook``, ``email`` …)."""
    alert_id: str
    """The id the alert was sent with (a webhook's ``webhook-id``)."""

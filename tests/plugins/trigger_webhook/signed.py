"""Deliveries signed by the reference Standard Webhooks library (``standardwebhooks``),
never by vecron's own code: what a real sender would send."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from math import floor
from typing import Any

from standardwebhooks import Webhook


def signed_headers(
    secret: str,
    body: bytes,
    *,
    delivery_id: str | None = None,
    at: datetime | None = None,
    content_type: str = "application/json",
) -> dict[str, str]:
    """The headers of a delivery of ``body`` signed with ``secret`` at ``at`` (now)."""
    moment = at or datetime.now(UTC)
    given = delivery_id or f"msg_{uuid.uuid4().hex}"
    return {
        "webhook-id": given,
        "webhook-timestamp": str(floor(moment.timestamp())),
        "webhook-signature": Webhook(secret).sign(given, moment, body),
        "Content-Type": content_type,
    }


def json_body(data: Any) -> bytes:
    return json.dumps(data).encode()


def webhook_job(name: str, *, order: str = "fixed", **trigger: Any) -> dict[str, Any]:
    """A job started by webhooks whose one step writes ``order`` (a template may name
    the delivery: ``{{ webhook.payload.order_id }}``) into a file (no network)."""
    return {
        "name": name,
        "timezone": "UTC",
        "triggers": [{"type": "webhook", **trigger}],
        "steps": [
            {
                "id": "export",
                "type": "files",
                "rows": [{"order": order}],
                "output": {"name": "order.csv"},
            }
        ],
        "retry": {"max_attempts": 1},
    }

"""The ``webhook`` notifier: the alert as JSON, POSTed and signed (Standard Webhooks)."""

from __future__ import annotations

import json
import time

import aiohttp
from pydantic import Field, SecretStr, field_validator

from vecron import Alert, FinalError, Notifier, NotifierConfig, RetryableError
from vecron_notifiers.signature import secret_key, sign


class WebhookConfig(NotifierConfig):
    """POSTs each alert as JSON to ``url``, with the headers ``webhook-id`` (the alert's
    id), ``webhook-timestamp`` and ``webhook-signature`` of the Standard Webhooks
    scheme, so receivers verify it with any of its libraries."""

    url: str = Field(pattern=r"^https?://", max_length=2000, description="Where alerts are POSTed.")
    secret: SecretStr = Field(
        description="Signing secret, whsec_ and base64 (masked everywhere); give "
        "'{{ vars.NAME }}' to read a secret variable."
    )
    request_timeout: float = Field(10.0, gt=0, le=300, description="Seconds one POST may take.")

    @field_validator("secret")
    @classmethod
    def _whsec(cls, value: SecretStr) -> SecretStr:
        secret_key(value.get_secret_value())
        return value


class WebhookNotifier(Notifier[WebhookConfig]):
    kind = "webhook"
    Config = WebhookConfig

    async def send(self, alert: Alert) -> None:
        body = json.dumps(alert.payload(), separators=(",", ":")).encode()
        timestamp = int(time.time())
        key = secret_key(self.config.secret.get_secret_value())
        headers = {
            "content-type": "application/json",
            "webhook-id": alert.id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(key, alert.id, timestamp, body),
        }
        timeout = aiohttp.ClientTimeout(total=self.config.request_timeout)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(self.config.url, data=body, headers=headers) as response,
            ):
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RetryableError(f"webhook unreachable: {type(exc).__name__}") from None
        if 200 <= status < 300:
            return
        if status == 429 or status >= 500:
            raise RetryableError(f"webhook answered HTTP {status}")
        raise FinalError(f"webhook refused the alert: HTTP {status}")

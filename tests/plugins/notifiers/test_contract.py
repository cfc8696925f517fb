"""Every built-in notifier passes vecron's notifier contract, against real receivers."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.alert_receivers import MailServer, WebhookReceiver, webhook_secret
from tests.support.private_servers import free_port
from vecron.plugin.builtin.log_notifier import LogNotifier
from vecron.testing import NotifierContract
from vecron_notifiers import EmailNotifier, WebhookNotifier


class TestLogNotifier(NotifierContract):
    notifier_class = LogNotifier
    supports_failure = False

    def valid_config(self) -> dict[str, Any]:
        return {"level": "warning"}


class TestWebhookNotifier(NotifierContract):
    notifier_class = WebhookNotifier
    supports_hang = True

    def valid_config(self) -> dict[str, Any]:
        return {"url": "https://hooks.example.com/vecron", "secret": webhook_secret()}

    @pytest.fixture
    def delivering_config(self, receiver: WebhookReceiver) -> dict[str, Any]:
        return {"url": f"{receiver.url}/alerts", "secret": receiver.secret}

    @pytest.fixture
    def refusing_config(self, receiver: WebhookReceiver) -> dict[str, Any]:
        receiver.mode = "error"
        return {"url": f"{receiver.url}/alerts", "secret": receiver.secret}

    @pytest.fixture
    def hanging_config(self, receiver: WebhookReceiver) -> dict[str, Any]:
        receiver.mode = "hang"
        return {"url": f"{receiver.url}/alerts", "secret": receiver.secret}


class TestEmailNotifier(NotifierContract):
    notifier_class = EmailNotifier
    supports_hang = True

    def valid_config(self) -> dict[str, Any]:
        return {
            "host": "smtp.example.com",
            "username": "alerts",
            "password": "smtp-secret-value",
            "from_address": "vecron@example.com",
            "to": ["ops@example.com"],
        }

    @pytest.fixture
    def delivering_config(self, mail: MailServer) -> dict[str, Any]:
        return {k: v for k, v in mail.notifier().items() if k != "type"}

    @pytest.fixture
    def refusing_config(self, mail: MailServer) -> dict[str, Any]:
        # Nobody listens on this port.
        return {k: v for k, v in mail.notifier(port=free_port()).items() if k != "type"}

    @pytest.fixture
    def hanging_config(self, mail: MailServer, silent_port: int) -> dict[str, Any]:
        return {k: v for k, v in mail.notifier(port=silent_port).items() if k != "type"}

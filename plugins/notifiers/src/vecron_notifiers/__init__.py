"""vecron's built-in notifiers beside ``log``: ``webhook`` (signed with the Standard
Webhooks scheme) and ``email`` (SMTP with STARTTLS)."""

from __future__ import annotations

from vecron import Registry, hookimpl
from vecron_notifiers.email import EmailNotifier
from vecron_notifiers.webhook import WebhookNotifier

__all__ = ["EmailNotifier", "WebhookNotifier"]


@hookimpl
def vecron_register_notifiers(register: Registry) -> None:
    register.add_notifier(WebhookNotifier)
    register.add_notifier(EmailNotifier)

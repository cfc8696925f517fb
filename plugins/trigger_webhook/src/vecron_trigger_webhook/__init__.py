"""Webhook trigger (kind ``webhook``): a signed HTTP call starts a job (SPEC S7.2, S13.7).

Importing the package loads nothing heavy: the hooks import the trigger, the routes and
the command when they are called, and the names below on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from vecron import Registry, hookimpl

if TYPE_CHECKING:
    import typer

    from vecron_api import RouteRegistry

    from .service import Delivery as Delivery
    from .service import WebhookService as WebhookService
    from .trigger import WebhookConfig as WebhookConfig
    from .trigger import WebhookTrigger as WebhookTrigger
    from .views import WebhookAccepted as WebhookAccepted
    from .views import WebhookView as WebhookView

_HOMES = {
    "Delivery": ".service",
    "WebhookService": ".service",
    "WebhookConfig": ".trigger",
    "WebhookTrigger": ".trigger",
    "WebhookAccepted": ".views",
    "WebhookView": ".views",
}

__all__ = sorted(
    [
        *_HOMES,
        "vecron_register_commands",
        "vecron_register_migrations",
        "vecron_register_routes",
        "vecron_register_triggers",
    ]
)


@hookimpl
def vecron_register_triggers(register: Registry) -> None:
    from .trigger import WebhookTrigger

    register.add_trigger(WebhookTrigger)


@hookimpl
def vecron_register_migrations(register: Registry) -> None:
    register.add_migrations("trigger_webhook", __name__, "migrations")


@hookimpl
def vecron_register_commands(cli: typer.Typer) -> None:
    from .commands import add_to

    add_to(cli)


# Optional: the hook is the API's; without the API there is nothing to add routes to.
@hookimpl(optionalhook=True)
def vecron_register_routes(register: RouteRegistry) -> None:
    from .routes import register_routes

    register_routes(register)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home, __name__), name)

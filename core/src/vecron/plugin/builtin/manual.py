"""The manual trigger: runs started from the CLI, the API or the dashboard."""

from __future__ import annotations

from datetime import datetime

from vecron.plugin.hookspecs import hookimpl
from vecron.plugin.registry import Registry
from vecron.plugin.trigger import Trigger, TriggerConfig, TriggerState


class ManualConfig(TriggerConfig):
    """No settings: listing ``{type: manual}`` alone makes a manual-only job."""


class ManualTrigger(Trigger[ManualConfig]):
    """Event-driven: the scheduler never asks it for a fire time."""

    kind = "manual"
    Config = ManualConfig
    scheduled = False

    def next_fire_time(self, after: datetime, state: TriggerState) -> None:
        return None


@hookimpl
def vecron_register_triggers(register: Registry) -> None:
    register.add_trigger(ManualTrigger)

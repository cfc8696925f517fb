"""Schedule triggers: ``cron``, ``fixed_rate``, ``fixed_delay`` and ``once``."""

from __future__ import annotations

from vecron import Registry, hookimpl

from .cron import CronTrigger
from .fixed import FixedDelayTrigger, FixedRateTrigger
from .once import OnceTrigger

__all__ = ["CronTrigger", "FixedDelayTrigger", "FixedRateTrigger", "OnceTrigger"]


@hookimpl
def vecron_register_triggers(register: Registry) -> None:
    for trigger in (CronTrigger, FixedRateTrigger, FixedDelayTrigger, OnceTrigger):
        register.add_trigger(trigger)

"""The trigger contract suite, run over every schedule trigger."""

from __future__ import annotations

from typing import Any

from vecron.testing import TriggerContract
from vecron_trigger_schedule.cron import CronTrigger
from vecron_trigger_schedule.fixed import FixedDelayTrigger, FixedRateTrigger
from vecron_trigger_schedule.once import OnceTrigger


class TestCronQuartz(TriggerContract):
    trigger_class = CronTrigger
    timezone = "Europe/Berlin"

    def valid_config(self) -> dict[str, Any]:
        return {"expression": "0 30 2 ? * SUN"}  # crosses the spring-forward night


class TestCronUnix(TriggerContract):
    trigger_class = CronTrigger
    timezone = "Asia/Ho_Chi_Minh"

    def valid_config(self) -> dict[str, Any]:
        return {"expression": "*/10 9-17 1 * MON"}


class TestFixedRate(TriggerContract):
    trigger_class = FixedRateTrigger

    def valid_config(self) -> dict[str, Any]:
        return {"period": "PT90M"}


class TestFixedDelay(TriggerContract):
    trigger_class = FixedDelayTrigger

    def valid_config(self) -> dict[str, Any]:
        return {"delay": 45, "initial_delay": "PT1M"}


class TestOnce(TriggerContract):
    trigger_class = OnceTrigger
    fire_count = 1

    def valid_config(self) -> dict[str, Any]:
        return {"at": "2026-03-05T09:00:00"}

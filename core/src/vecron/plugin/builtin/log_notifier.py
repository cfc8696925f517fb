"""The ``log`` notifier: one structured log line per alert, in vecron's own log."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from vecron.plugin.hookspecs import hookimpl
from vecron.plugin.notifier import Alert, Notifier, NotifierConfig
from vecron.plugin.registry import Registry
from vecron.telemetry import get_logger

log = get_logger("vecron.alerts")


class LogNotifierConfig(NotifierConfig):
    """Writes each alert as one log line (event ``alert``) of vecron's log."""

    level: Literal["info", "warning", "error"] = Field(
        "warning", description="Level of the log line."
    )


class LogNotifier(Notifier[LogNotifierConfig]):
    kind = "log"
    Config = LogNotifierConfig

    async def send(self, alert: Alert) -> None:
        # The error was masked when the execution recorded it; the log's own
        # processors mask again whatever secrets the writing task knows.
        write = getattr(log, self.config.level)
        write(
            "alert",
            alert_id=alert.id,
            alert=alert.kind.value,
            job=alert.job_name,
            job_id=alert.job_id,
            streak=alert.streak,
            missed=alert.missed,
            execution_id=alert.execution_id,
            error=alert.error,
            summary=alert.summary(),
        )


@hookimpl
def vecron_register_notifiers(register: Registry) -> None:
    register.add_notifier(LogNotifier)

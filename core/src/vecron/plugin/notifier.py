"""The notifier contract: tell someone that a job is failing, recovered, or lost runs.

Notifiers only deliver: when to alert (after how many failures, once per streak,
again after ``renotify_after``) is decided once, in core, with its state in the store.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Generic

from pydantic import BaseModel, ConfigDict
from typing_extensions import TypeVar


class NotifierConfig(BaseModel):
    """Base of every notifier's ``Config`` (the settings ``[alerts.notifiers.<name>]``
    less ``type``). Unknown fields are errors; type passwords and signing secrets
    ``pydantic.SecretStr``, and describe every field."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


NotifierConfigT = TypeVar("NotifierConfigT", bound=NotifierConfig, default=NotifierConfig)


class AlertKind(StrEnum):
    """What an alert says."""

    FAILING = "failing"
    """The job failed ``streak`` times in a row (again, after ``renotify_after``)."""
    RECOVERED = "recovered"
    """The first success after an alerted failure streak."""
    DEAD_LETTER = "dead_letter"
    """An execution used its last attempt and went to the dead-letter table."""
    MISSED = "missed"
    """The misfire policy dropped ``missed`` fire times of the job."""
    TEST = "test"
    """Sent by ``vecron alerts test``: checks a notifier's settings."""


class Alert(BaseModel):
    """One alert, as every notifier receives it. Texts are already masked."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    id: str
    """Unique per alert and the same on every delivery attempt: receivers de-duplicate
    on it (the webhook's ``webhook-id``)."""
    kind: AlertKind
    at: datetime
    """When the change that raised it happened (UTC)."""
    job_id: str
    job_name: str
    streak: int = 0
    """Failed executions in a row (0 for ``recovered`` and ``missed``)."""
    error: str | None = None
    """The last failure's error, secrets masked, cut to 500 characters."""
    execution_id: str | None = None
    """The execution that raised it (none for ``missed``)."""
    missed: int = 0
    """Fire times dropped, for ``missed``."""

    def summary(self) -> str:
        """One line: an e-mail subject, a chat message's first line."""
        job = self.job_name
        if self.kind is AlertKind.FAILING:
            return f"vecron: job {job} is failing ({self.streak} failures in a row)"
        if self.kind is AlertKind.RECOVERED:
            return f"vecron: job {job} recovered"
        if self.kind is AlertKind.DEAD_LETTER:
            return f"vecron: an execution of job {job} was dead-lettered"
        if self.kind is AlertKind.MISSED:
            return f"vecron: job {job} lost {self.missed} run(s) (missed fire times)"
        return f"vecron: test alert for job {job}"

    def text(self) -> str:
        """Plain text naming the job, the streak and the last error (no links)."""
        lines = [
            self.summary(),
            "",
            f"job: {self.job_name} ({self.job_id})",
            f"alert: {self.kind.value}",
            f"at: {self.at.isoformat()}",
        ]
        if self.streak:
            lines.append(f"failures in a row: {self.streak}")
        if self.missed:
            lines.append(f"missed fire times: {self.missed}")
        if self.execution_id:
            lines.append(f"execution: {self.execution_id}")
        if self.error:
            lines.append(f"last error: {self.error}")
        return "\n".join(lines) + "\n"

    def payload(self) -> dict[str, Any]:
        """The alert as JSON-ready data (the webhook's body)."""
        return {
            "type": f"job.{self.kind.value}",
            "summary": self.summary(),
            **self.model_dump(mode="json"),
        }


class Notifier(Generic[NotifierConfigT], metaclass=ABCMeta):
    """A way to deliver alerts, generic over its ``Config``:
    ``class Slack(Notifier[SlackConfig])`` with ``Config = SlackConfig``.

    vecron builds one with the validated config of a ``[alerts.notifiers.<name>]`` table
    each time it delivers (a ``{{ vars.NAME }}`` in it is the variable's current value),
    and calls :meth:`send` in a background task under a time limit, retrying with backoff:
    :meth:`send` never runs inside an execution and cannot slow or fail one.
    """

    kind: ClassVar[str]
    Config: ClassVar[type[NotifierConfig]] = NotifierConfig

    def __init__(self, config: NotifierConfigT) -> None:
        self.config = config

    @abstractmethod
    async def send(self, alert: Alert) -> None:
        """Deliver ``alert`` once.

        Invariants: it sends ``alert.id`` along when the channel can carry it (receivers
        de-duplicate on it, as a retried delivery may arrive twice); it never puts a
        secret of its config in an error message; it lets ``asyncio.CancelledError``
        propagate (the time limit cancels it).

        :raises vecron.RetryableError: delivery failed and may work later (server down,
            timeout, HTTP 5xx or 429); vecron tries again with backoff.
        :raises vecron.FinalError: delivery cannot work as configured (refused
            credentials, HTTP 4xx); vecron logs it and does not retry.
        """

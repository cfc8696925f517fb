"""Alert rules: when vecron tells someone about a job, and through which notifiers.

A job's ``alerts:`` block and the settings' ``[alerts]`` defaults share one model; every
field a job leaves out takes the default of the settings (:meth:`AlertRules.over`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vecron.models.bounds import PositiveSeconds

#: A notifier's name in ``[alerts.notifiers.<name>]``: what ``notify:`` lists.
NOTIFIER_NAME = r"^[a-z][a-z0-9_-]{0,63}$"
#: The seed's P46: a job is failing after three failures in a row.
DEFAULT_AFTER_FAILURES = 3

NotifierName = Annotated[str, Field(pattern=NOTIFIER_NAME)]


class AlertRules(BaseModel):
    """When to alert about a job. Every field left out takes the settings' default."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    after_failures: int | None = Field(
        None,
        ge=1,
        le=10_000,
        description="Alert once when this many executions in a row failed (default 3).",
    )
    on_dead_letter: bool | None = Field(
        None,
        description="Alert for every dead-lettered execution (default false: every "
        "execution that fails its last attempt is one, so the streak rule says enough).",
    )
    on_missed: bool | None = Field(
        None, description="Alert when the misfire policy drops fire times (default true)."
    )
    on_recovery: bool | None = Field(
        None, description="Alert on the first success after an alerted streak (default true)."
    )
    renotify_after: PositiveSeconds | None = Field(
        None,
        description="Seconds after which a streak still failing is alerted again (default: never).",
    )
    notify: list[NotifierName] | None = Field(
        None,
        max_length=20,
        description="Notifiers (names under [alerts.notifiers]) to tell (default: the "
        "settings' alerts.notify).",
    )

    @field_validator("notify")
    @classmethod
    def _distinct(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("names a notifier twice")
        return value

    def over(self, defaults: AlertRules) -> EffectiveRules:
        """These rules, each field left out taken from ``defaults`` (then the built-in
        default)."""

        def pick(name: str) -> Any:
            mine = getattr(self, name)
            return mine if mine is not None else getattr(defaults, name)

        return EffectiveRules(
            after_failures=pick("after_failures") or DEFAULT_AFTER_FAILURES,
            on_dead_letter=pick("on_dead_letter") is True,
            on_missed=_true_unless_false(pick("on_missed")),
            on_recovery=_true_unless_false(pick("on_recovery")),
            renotify_after=pick("renotify_after"),
            notify=tuple(pick("notify") or ()),
        )


def _true_unless_false(value: bool | None) -> bool:
    return value is not False


class EffectiveRules(BaseModel):
    """A job's rules once the settings' defaults filled the gaps."""

    model_config = ConfigDict(frozen=True)

    after_failures: int = DEFAULT_AFTER_FAILURES
    on_dead_letter: bool = False
    on_missed: bool = True
    on_recovery: bool = True
    renotify_after: float | None = None
    notify: tuple[str, ...] = ()


class NotifierSetting(BaseModel):
    """One configured notifier: its ``type`` (a registered notifier kind) and that
    notifier's own settings, validated by its ``Config`` when vecron starts."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="The notifier kind.")

    def config(self) -> dict[str, Any]:
        """The notifier's own settings (everything but ``type``)."""
        return dict(self.model_extra or {})


class AlertSettings(AlertRules):
    """The settings' ``[alerts]``: the notifiers by name and the default rules."""

    notifiers: dict[NotifierName, NotifierSetting] = Field(
        default_factory=dict,
        description="Notifiers by name: [alerts.notifiers.ops] type = 'email' ...",
    )
    delivery_timeout: PositiveSeconds = Field(
        10.0, description="Seconds one attempt to send an alert may take."
    )
    delivery_attempts: int = Field(
        5, ge=1, le=100, description="Attempts to send one alert through one notifier."
    )
    delivery_backoff: PositiveSeconds = Field(
        1.0,
        description="Seconds before the second attempt to send an alert; doubles with each "
        "attempt, up to 60.",
    )


@dataclass(frozen=True, slots=True)
class AlertState:
    """What alerting remembers of a job, in the store: its current failure streak, when
    that streak was first alerted (None: not yet) and when it was last notified."""

    streak: int = 0
    alerted_at: datetime | None = None
    notified_at: datetime | None = None

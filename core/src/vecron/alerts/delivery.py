"""Delivering alerts: each through each named notifier in a background task of its own,
every attempt under a time limit, failures retried with backoff. Nothing here runs
inside an execution: a notifier that hangs or raises costs a task, never a run.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import SecretStr
from pydantic import ValidationError as PydanticValidationError

from vecron.errors import ConfigurationError, StepError, problems_from_pydantic
from vecron.models.alerts import AlertSettings, NotifierSetting
from vecron.models.definition import RetryPolicy
from vecron.plugin.notifier import Alert, Notifier, NotifierConfig
from vecron.plugin.registry import Registry
from vecron.secrets.redaction import excerpt
from vecron.telemetry import get_logger

log = get_logger("vecron.alerts")

#: A whole setting value that names a global variable: ``{{ vars.WEBHOOK_SECRET }}``.
VARIABLE_REFERENCE = re.compile(r"^\{\{\s*vars\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")


class Resolved(Protocol):
    """Variables as read for one delivery: their values, and which of them are secret."""

    @property
    def values(self) -> Mapping[str, str]: ...

    @property
    def secret_values(self) -> frozenset[str]: ...


class GlobalVariables(Protocol):
    """Where ``{{ vars.NAME }}`` in a notifier's settings is read: the global variables
    (:meth:`vecron.services.variables.VariableService.resolve_globals`)."""

    async def resolve_globals(self) -> Resolved: ...


@dataclass(frozen=True, slots=True)
class _NoVariables:
    values: Mapping[str, str] = field(default_factory=dict)
    secret_values: frozenset[str] = frozenset()


def references(config: Mapping[str, Any]) -> dict[str, str]:
    """The settings of ``config`` that name a variable, and the variable each names."""
    found = {}
    for key, value in config.items():
        match = VARIABLE_REFERENCE.match(value) if isinstance(value, str) else None
        if match is not None:
            found[key] = match.group(1)
    return found


def _secret_settings(config: NotifierConfig) -> list[str]:
    """The values of a notifier's ``SecretStr`` settings: masked in what is logged."""
    return [
        value.get_secret_value()
        for value in (getattr(config, name) for name in type(config).model_fields)
        if isinstance(value, SecretStr)
    ]


class Deliveries:
    """The configured notifiers, and the tasks delivering alerts through them."""

    def __init__(
        self,
        settings: AlertSettings,
        registry: Registry,
        variables: GlobalVariables | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.variables = variables
        self._sleep = sleep
        self._backoff = RetryPolicy(
            delay=settings.delivery_backoff, factor=2.0, max_delay=60.0, jitter=0.2
        )
        self._tasks: set[asyncio.Task[bool]] = set()

    @property
    def names(self) -> frozenset[str]:
        """The configured notifiers' names."""
        return frozenset(self.settings.notifiers)

    def check(self) -> None:
        """Fail at start-up on a notifier of an unknown type or with a bad setting (a
        setting that names a variable is checked when an alert is sent).

        :raises ConfigurationError: one line naming the setting.
        """
        for name, setting in self.settings.notifiers.items():
            field = f"alerts.notifiers.{name}"
            try:
                cls = self.registry.notifier(setting.type)
            except Exception as exc:
                raise ConfigurationError(f"setting {field!r}: {exc}", field=field) from None
            config = setting.config()
            named = references(config)
            given = {k: v for k, v in config.items() if k not in named}
            try:
                cls.Config.model_validate(given)
            except PydanticValidationError as exc:
                problems = [
                    p
                    for p in problems_from_pydantic(exc.errors(include_url=False), data=given)
                    if (p.field or "").split(".")[0] not in named
                ]
                if problems:
                    first = problems[0]
                    raise ConfigurationError(
                        f"setting '{field}.{first.field}': {first.message}",
                        field=f"{field}.{first.field}",
                    ) from None

    def send(self, alert: Alert, names: Collection[str]) -> None:
        """Deliver ``alert`` through each notifier of ``names`` in the background."""
        for name in sorted(set(names)):
            setting = self.settings.notifiers.get(name)
            if setting is None:
                log.warning("alert names an unknown notifier", notifier=name, job=alert.job_name)
                continue
            task = asyncio.create_task(self.deliver(name, setting, alert))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def deliver(
        self, name: str, setting: NotifierSetting, alert: Alert, *, attempts: int | None = None
    ) -> bool:
        """Try to deliver ``alert`` through notifier ``name`` until it works, fails for
        good or runs out of ``attempts`` (default: the setting). True: delivered."""
        attempts = attempts or self.settings.delivery_attempts
        for attempt in range(1, attempts + 1):
            secrets: Collection[str] = ()
            try:
                resolved = await self._variables(setting)
                secrets = resolved.secret_values
                notifier = self._notifier(name, setting, resolved)
                secrets = {*secrets, *_secret_settings(notifier.config)}
                async with asyncio.timeout(self.settings.delivery_timeout):
                    await notifier.send(alert)
            except StepError as exc:
                retry = exc.retryable and attempt < attempts
                self._failed(name, alert, attempt, excerpt(exc.message, secrets), retry)
                if not retry:
                    return False
            except ConfigurationError as exc:
                self._failed(name, alert, attempt, exc.message, False)
                return False
            except Exception as exc:  # a hang (the time limit) or a plugin's bug
                text = (
                    "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
                )
                retry = attempt < attempts
                self._failed(name, alert, attempt, excerpt(text, secrets), retry)
                if not retry:
                    return False
            else:
                log.info("alert sent", notifier=name, alert=alert.kind.value, alert_id=alert.id)
                return True
            await self._sleep(self._backoff.backoff(attempt))
        return False

    async def _variables(self, setting: NotifierSetting) -> Resolved:
        if self.variables is None or not references(setting.config()):
            return _NoVariables()
        return await self.variables.resolve_globals()

    def _notifier(self, name: str, setting: NotifierSetting, resolved: Resolved) -> Notifier[Any]:
        field = f"alerts.notifiers.{name}"
        config = setting.config()
        for key, variable in references(config).items():
            if variable not in resolved.values:
                raise ConfigurationError(
                    f"setting '{field}.{key}' names variable {variable!r}, which is not set",
                    field=f"{field}.{key}",
                )
            config[key] = resolved.values[variable]
        cls = self.registry.notifier(setting.type)
        try:
            validated: NotifierConfig = cls.Config.model_validate(config)
        except PydanticValidationError as exc:
            first = problems_from_pydantic(exc.errors(include_url=False), data=config)[0]
            # The message names the field only: a value may be a secret.
            raise ConfigurationError(
                f"setting '{field}.{first.field}' is invalid", field=field
            ) from None
        return cls(validated)

    @staticmethod
    def _failed(name: str, alert: Alert, attempt: int, error: str, retry: bool) -> None:
        log.warning(
            "alert delivery failed",
            notifier=name,
            alert=alert.kind.value,
            alert_id=alert.id,
            attempt=attempt,
            retrying=retry,
            error=error,
        )

    async def drain(self, grace: float) -> None:
        """Let pending deliveries finish for ``grace`` seconds, then cancel the rest."""
        pending = set(self._tasks)
        if not pending:
            return
        _, late = await asyncio.wait(pending, timeout=grace)
        for task in late:
            task.cancel()
        if late:
            await asyncio.gather(*late, return_exceptions=True)
            log.warning("alert deliveries cancelled at shutdown", count=len(late))

    async def idle(self) -> None:
        """Wait until no delivery is pending (tests)."""
        while self._tasks:
            await asyncio.gather(*set(self._tasks), return_exceptions=True)

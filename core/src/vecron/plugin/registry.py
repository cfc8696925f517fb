"""What plugins registered: executor and trigger classes by kind."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from vecron.errors import DuplicateKindError, PluginError, ValidationError
from vecron.plugin.executor import Executor, ExecutorConfig
from vecron.plugin.trigger import Trigger, TriggerConfig

#: Keys of a step or trigger document that belong to vecron, not to the plugin's Config.
STEP_KEYS = frozenset({"id", "type", "timeout", "name", "description", "when"})
TRIGGER_KEYS = frozenset({"type"})


@dataclass(slots=True)
class Registry:
    """Passed to ``vecron_register_*`` hooks. ``kind`` must be unique per family."""

    executors: dict[str, type[Executor]] = field(default_factory=dict)
    triggers: dict[str, type[Trigger]] = field(default_factory=dict)
    owners: dict[tuple[str, str], str] = field(default_factory=dict)
    plugin: str = "<unknown>"

    def add_executor(self, cls: type[Executor]) -> None:
        self._check(cls, "executor", ExecutorConfig, STEP_KEYS)
        self._add(self.executors, "executor", cls)

    def add_trigger(self, cls: type[Trigger]) -> None:
        self._check(cls, "trigger", TriggerConfig, TRIGGER_KEYS)
        self._add(self.triggers, "trigger", cls)

    def _check(
        self, cls: Any, family: str, base: type[BaseModel], reserved: frozenset[str]
    ) -> None:
        kind = getattr(cls, "kind", None)
        if not isinstance(kind, str) or not kind.isidentifier():
            raise PluginError(f"{self.plugin}: {family} {cls!r} needs a `kind` identifier")
        config = getattr(cls, "Config", None)
        if not (isinstance(config, type) and issubclass(config, base)):
            raise PluginError(
                f"{self.plugin}: {family} {kind!r} needs a `Config` subclass of {base.__name__}"
            )
        clash = reserved & set(config.model_fields)
        if clash:
            raise PluginError(
                f"{self.plugin}: {family} {kind!r} Config uses reserved field(s) {sorted(clash)}"
            )

    def _add(self, table: dict[str, Any], family: str, cls: Any) -> None:
        kind: str = cls.kind
        if kind in table:
            raise DuplicateKindError(family, kind, self.owners[(family, kind)], self.plugin)
        table[kind] = cls
        self.owners[(family, kind)] = self.plugin

    def executor(self, kind: str) -> type[Executor]:
        try:
            return self.executors[kind]
        except KeyError:
            raise ValidationError(
                f"unknown step type {kind!r}; installed: {', '.join(sorted(self.executors))}"
            ) from None

    def trigger(self, kind: str) -> type[Trigger]:
        try:
            return self.triggers[kind]
        except KeyError:
            raise ValidationError(
                f"unknown trigger type {kind!r}; installed: {', '.join(sorted(self.triggers))}"
            ) from None

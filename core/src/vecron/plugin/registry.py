"""What plugins registered: executor and trigger classes by kind."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from vecron.errors import DuplicateKindError, PluginError, ValidationError
from vecron.plugin.auth import AuthBackend, AuthBackendConfig
from vecron.plugin.executor import Executor, ExecutorConfig
from vecron.plugin.migrations import MigrationSource
from vecron.plugin.notifier import Notifier, NotifierConfig
from vecron.plugin.trigger import Trigger, TriggerConfig

#: Keys of a step or trigger document that belong to vecron, not to the plugin's Config.
STEP_KEYS = frozenset({"id", "type", "timeout", "name", "description", "when"})
TRIGGER_KEYS = frozenset({"type"})


@dataclass(slots=True)
class Registry:
    """The installed executor and trigger classes, by ``kind``.

    Passed to the ``vecron_register_*`` hooks, which call :meth:`add_executor` and
    :meth:`add_trigger`; read afterwards through :meth:`executor`, :meth:`trigger` and the
    three tables. ``kind`` is unique per family.
    """

    #: Executor classes by kind (the ``type:`` of a step).
    executors: dict[str, type[Executor[Any]]] = field(default_factory=dict)
    #: Trigger classes by kind (the ``type:`` of a trigger).
    triggers: dict[str, type[Trigger[Any]]] = field(default_factory=dict)
    #: Auth backend classes by kind (the names in settings ``auth_backends``).
    auth_backends: dict[str, type[AuthBackend[Any]]] = field(default_factory=dict)
    #: Notifier classes by kind (the ``type`` of ``[alerts.notifiers.<name>]``).
    notifiers: dict[str, type[Notifier[Any]]] = field(default_factory=dict)
    #: Plugins' own database migrations, by name, applied after core's.
    migrations: dict[str, MigrationSource] = field(default_factory=dict)
    #: The plugin that registered each ``(family, kind)``: family ``executor``,
    #: ``trigger``, ``auth``, ``notifier`` or ``migrations``.
    owners: dict[tuple[str, str], str] = field(default_factory=dict)
    #: The plugin whose hook is running: the manager sets it before each call.
    plugin: str = "<unknown>"

    def add_executor(self, cls: type[Executor[Any]]) -> None:
        """Register an executor class.

        :raises PluginError: ``kind`` is no identifier, ``Config`` is no
            :class:`ExecutorConfig` (or not the one named in ``Executor[...]``), or it
            uses a reserved step key.
        :raises DuplicateKindError: another plugin registered this kind.
        """
        self._check(cls, "executor", Executor, ExecutorConfig, STEP_KEYS)
        self._add(self.executors, "executor", cls)

    def add_trigger(self, cls: type[Trigger[Any]]) -> None:
        """Register a trigger class; raises as :meth:`add_executor`."""
        self._check(cls, "trigger", Trigger, TriggerConfig, TRIGGER_KEYS)
        self._add(self.triggers, "trigger", cls)

    def add_auth_backend(self, cls: type[AuthBackend[Any]]) -> None:
        """Register an auth backend class; raises as :meth:`add_executor`."""
        self._check(cls, "auth", AuthBackend, AuthBackendConfig, frozenset())
        self._add(self.auth_backends, "auth", cls)

    def add_notifier(self, cls: type[Notifier[Any]]) -> None:
        """Register a notifier class; raises as :meth:`add_executor`."""
        self._check(cls, "notifier", Notifier, NotifierConfig, frozenset({"type"}))
        self._add(self.notifiers, "notifier", cls)

    def add_migrations(self, name: str, package: str, directory: str = "migrations") -> None:
        """Register a plugin's Alembic migrations: the folder ``directory`` of the
        importable ``package`` (an ``env.py`` that calls ``vecron.run_migrations()`` and a
        ``versions/`` folder). They are stamped in their own version table
        ``alembic_version_<name>`` and applied after core's by ``vecron db upgrade`` and
        at start-up.

        :raises DuplicateKindError: another plugin registered migrations named ``name``.
        """
        if not name.isidentifier():
            raise PluginError(f"{self.plugin}: migrations need an identifier name, not {name!r}")
        if name in self.migrations:
            raise DuplicateKindError(
                "migrations", name, self.owners[("migrations", name)], self.plugin
            )
        self.migrations[name] = MigrationSource(name, package, directory)
        self.owners[("migrations", name)] = self.plugin

    def auth_backend(self, kind: str) -> type[AuthBackend[Any]]:
        """The auth backend class ``kind``; raises as :meth:`executor`."""
        try:
            return self.auth_backends[kind]
        except KeyError:
            raise ValidationError(
                f"unknown auth backend {kind!r}; installed: "
                f"{', '.join(sorted(self.auth_backends)) or 'none'}",
                field="auth_backends",
            ) from None

    def notifier(self, kind: str) -> type[Notifier[Any]]:
        """The notifier class ``kind``; raises as :meth:`executor`."""
        try:
            return self.notifiers[kind]
        except KeyError:
            raise ValidationError(
                f"unknown notifier type {kind!r}; installed: "
                f"{', '.join(sorted(self.notifiers)) or 'none'}",
                field="alerts.notifiers",
            ) from None

    def executor(self, kind: str) -> type[Executor[Any]]:
        """The executor class of step type ``kind``.

        :raises ValidationError: no installed plugin registered ``kind``; the message
            lists the installed ones.
        """
        try:
            return self.executors[kind]
        except KeyError:
            raise ValidationError(
                f"unknown step type {kind!r}; installed: {', '.join(sorted(self.executors))}"
            ) from None

    def trigger(self, kind: str) -> type[Trigger[Any]]:
        """The trigger class of trigger type ``kind``; raises as :meth:`executor`."""
        try:
            return self.triggers[kind]
        except KeyError:
            raise ValidationError(
                f"unknown trigger type {kind!r}; installed: {', '.join(sorted(self.triggers))}"
            ) from None

    def _check(
        self,
        cls: Any,
        family: str,
        generic: type,
        base: type[BaseModel],
        reserved: frozenset[str],
    ) -> None:
        kind = getattr(cls, "kind", None)
        if not isinstance(kind, str) or not kind.isidentifier():
            raise PluginError(f"{self.plugin}: {family} {cls!r} needs a `kind` identifier")
        config = getattr(cls, "Config", None)
        if not (isinstance(config, type) and issubclass(config, base)):
            raise PluginError(
                f"{self.plugin}: {family} {kind!r} needs a `Config` subclass of {base.__name__}"
            )
        named = _type_argument(cls, generic)
        if named is not None and not issubclass(config, named):
            # mypy catches this for typed plugins; an untyped one would get the wrong
            # model in run() and fail on its first step instead of at start.
            raise PluginError(
                f"{self.plugin}: {family} {kind!r} declares {generic.__name__}"
                f"[{named.__name__}] but its Config is {config.__name__}"
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


def _type_argument(cls: type, generic: type) -> type | None:
    """The Config class ``cls`` names in ``generic[...]`` (nearest in its MRO), if any."""
    for klass in cls.__mro__:
        for base in klass.__dict__.get("__orig_bases__", ()):
            origin = get_origin(base)
            if isinstance(origin, type) and issubclass(origin, generic):
                argument = next(iter(get_args(base)), None)
                return argument if isinstance(argument, type) else None
    return None

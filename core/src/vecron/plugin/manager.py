"""The plugin manager factory and what it found.

There is no module-global manager: call :func:`get_plugin_manager` (tests build a fresh
one each time). Built-ins are registered through the same path as installed plugins.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import Any

import pluggy

from vecron.errors import PluginError
from vecron.plugin import hookspecs
from vecron.plugin.registry import Registry

#: Core's own plugin modules, registered like any installed plugin.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "vecron.plugin.builtin.manual",
    "vecron.plugin.builtin.log_notifier",
)


def _env_names(var: str) -> list[str] | None:
    raw = os.environ.get(var)
    if raw is None:
        return None
    return [name.strip() for name in raw.split(",") if name.strip()]


def get_plugin_manager(*, load_entrypoints: bool = True) -> pluggy.PluginManager:
    """Build a plugin manager: installed entry points of group ``vecron`` plus built-ins.

    ``VECRON_DISABLE_PLUGINS=a,b`` blocks plugins by entry-point name (the escape hatch
    for a broken plugin); ``VECRON_LOAD_PLUGINS=a,b`` loads only the named ones.
    """
    pm = pluggy.PluginManager(hookspecs.NAME)
    pm.add_hookspecs(hookspecs)
    # Historic: every plugin registered from here on that adds hook specs (the API adds
    # vecron_register_routes) gets called as it registers, before check_pending.
    pm.hook.vecron_add_hookspecs.call_historic(kwargs={"pluginmanager": pm})
    for name in _env_names("VECRON_DISABLE_PLUGINS") or []:
        pm.set_blocked(name)
    if load_entrypoints:
        allow = _env_names("VECRON_LOAD_PLUGINS")
        try:
            if allow is None:
                pm.load_setuptools_entrypoints(hookspecs.NAME)
            else:
                for name in allow:
                    pm.load_setuptools_entrypoints(hookspecs.NAME, name=name)
        except ImportError as exc:
            raise PluginError(
                f"a vecron plugin failed to import: {exc}",
                reason="plugin-import",
            ) from exc
    for dotted in DEFAULT_PLUGINS:
        if not pm.is_blocked(dotted):
            pm.register(importlib.import_module(dotted), name=dotted)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(str(exc)) from exc
    return pm


#: The hooks :func:`build_registry` calls, each plugin on its own.
REGISTER_HOOKS = (
    "vecron_register_executors",
    "vecron_register_triggers",
    "vecron_register_auth_backends",
    "vecron_register_notifiers",
    "vecron_register_migrations",
)


def build_registry(pm: pluggy.PluginManager) -> Registry:
    """Ask every plugin to register its executors and triggers.

    Each plugin is called on its own (through pluggy, on a subset of the hook without
    the other plugins; hook wrappers still wrap it) so the registry knows who registers
    what, and a duplicate ``kind`` error can name both plugins.
    """
    registry = Registry()
    for hook_name in REGISTER_HOOKS:
        impls = [
            impl
            for impl in getattr(pm.hook, hook_name).get_hookimpls()
            if not (impl.wrapper or impl.hookwrapper)
        ]
        for impl in reversed(impls):  # pluggy's call order
            others = [other.plugin for other in impls if other is not impl]
            registry.plugin = impl.plugin_name
            pm.subset_hook_caller(hook_name, others)(register=registry)
    registry.plugin = "<unknown>"
    return registry


@dataclass(frozen=True, slots=True)
class PluginInfo:
    name: str
    distribution: str | None
    version: str | None
    hooks: tuple[str, ...]
    executors: tuple[str, ...]
    triggers: tuple[str, ...]
    auth_backends: tuple[str, ...] = ()
    notifiers: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "hooks": list(self.hooks),
            "executors": list(self.executors),
            "triggers": list(self.triggers),
            "auth_backends": list(self.auth_backends),
            "notifiers": list(self.notifiers),
        }


def list_plugins(pm: pluggy.PluginManager, registry: Registry) -> list[PluginInfo]:
    """What is installed: name, distribution, version, hooks and the kinds it added."""
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    infos = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        dist = dists.get(id(plugin))
        hooks = tuple(sorted(caller.name for caller in pm.get_hookcallers(plugin) or []))
        infos.append(
            PluginInfo(
                name=name,
                distribution=dist.project_name if dist else "vecron-core",
                version=dist.version if dist else core_version(),
                hooks=hooks,
                executors=_owned(registry, "executor", name),
                triggers=_owned(registry, "trigger", name),
                auth_backends=_owned(registry, "auth", name),
                notifiers=_owned(registry, "notifier", name),
            )
        )
    return sorted(infos, key=lambda info: info.name)


def _owned(registry: Registry, family: str, plugin: str) -> tuple[str, ...]:
    return tuple(
        sorted(k for (f, k), owner in registry.owners.items() if f == family and owner == plugin)
    )


def core_version() -> str | None:
    """The installed version of vecron's core, None when it runs from a source tree."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("vecron-core")
    except PackageNotFoundError:
        return None

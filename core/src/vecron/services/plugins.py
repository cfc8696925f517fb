"""What is installed: plugins, their versions, hooks and the kinds they add."""

from __future__ import annotations

import pluggy

from vecron.auth import Permission, Principal
from vecron.plugin.manager import list_plugins
from vecron.plugin.registry import Registry
from vecron.services.audit import Gate
from vecron.services.views.plugins import PluginView


class PluginService:
    def __init__(self, pm: pluggy.PluginManager, registry: Registry, gate: Gate) -> None:
        self.pm = pm
        self.registry = registry
        self.gate = gate

    async def list(self, principal: Principal) -> list[PluginView]:
        """Every installed plugin, by name. Needs ``job:read`` (what a job may use)."""
        await self.gate.check(principal, Permission.JOB_READ, "plugin.list", "plugin:*")
        return [
            PluginView(
                name=info.name,
                distribution=info.distribution,
                version=info.version,
                hooks=list(info.hooks),
                executors=list(info.executors),
                triggers=list(info.triggers),
                auth_backends=list(info.auth_backends),
                notifiers=list(info.notifiers),
            )
            for info in list_plugins(self.pm, self.registry)
        ]

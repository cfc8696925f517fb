"""Hook specifications. Hooks are synchronous and only register things.

Everything that runs is an async object behind an abstract base class
(:class:`vecron.plugin.executor.Executor`, :class:`vecron.plugin.trigger.Trigger`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import typer
    from aiohttp import web

    from vecron.events import Event
    from vecron.plugin.registry import Registry
    from vecron.runtime import Runtime

NAME = "vecron"
_spec = pluggy.HookspecMarker(NAME)
hookimpl = pluggy.HookimplMarker(NAME)


@_spec
def vecron_register_executors(register: Registry) -> None:
    """Register executor classes.

    Called once when the plugin registry is built, before any worker starts.

    :param register: call ``register.add_executor(cls)`` for every
        :class:`vecron.plugin.executor.Executor` subclass; ``cls.kind`` must be unique.
    """


@_spec
def vecron_register_triggers(register: Registry) -> None:
    """Register trigger classes (cron, manual, webhook, file arrival ...).

    Called once when the plugin registry is built, before the scheduler starts.

    :param register: call ``register.add_trigger(cls)`` for every
        :class:`vecron.plugin.trigger.Trigger` subclass; ``cls.kind`` must be unique.
    """


@_spec
def vecron_execution_event(event: Event) -> None:
    """Observe what happens to executions, jobs and variables (:class:`vecron.events.Event`).

    Called for every event emitted in this process (scheduler: created, skipped, missed;
    worker: started, step finished, retry scheduled, finished, dead-lettered; services:
    created, job changed, variable changed), after the change was committed, in emission
    order, in a thread of its own (never on the event loop). Events of other processes
    are not passed here: use :meth:`vecron.events.EventBus.subscribe`. Best effort: an
    event may be lost (full buffers, a crash), never passed twice; the store is the truth.
    An exception raised by one observer is logged and never keeps the event from the
    others nor fails what emitted it.

    :param event: what happened; its ``kind`` (:class:`vecron.events.EventKind`) tells
        which class it is.
    """


@_spec
def vecron_register_auth_backends(register: Registry) -> None:
    """Register auth backend classes (:class:`vecron.plugin.auth.AuthBackend`).

    Called once when the plugin registry is built. Settings ``auth_backends`` choose which
    registered kinds the API uses, in order.

    :param register: call ``register.add_auth_backend(cls)``; ``cls.kind`` must be unique.
    """


@_spec
def vecron_register_notifiers(register: Registry) -> None:
    """Register notifier classes (:class:`vecron.plugin.notifier.Notifier`).

    Called once when the plugin registry is built. Settings ``[alerts.notifiers.<name>]``
    choose a registered kind by ``type``; alert rules name the notifiers to tell.

    :param register: call ``register.add_notifier(cls)``; ``cls.kind`` must be unique.
    """


@_spec
def vecron_register_migrations(register: Registry) -> None:
    """Register a plugin's own database tables, as Alembic migrations.

    Called once when the plugin registry is built; the migrations are applied after
    core's (each set on its own version table) by ``vecron db upgrade`` and at start-up.
    Core's store never grows methods for a plugin's tables: the plugin reads and writes
    them itself through :class:`vecron.plugin.auth.Database`.

    :param register: call ``register.add_migrations(name, package, directory)``.
    """


@_spec(historic=True)
def vecron_add_hookspecs(pluginmanager: pluggy.PluginManager) -> None:
    """Add hook specifications of a front end (pytest's ``pytest_addhooks``).

    Called as each plugin registers, before the manager checks that every hook
    implementation has a specification; the API adds ``vecron_register_routes`` here.

    :param pluginmanager: call ``pluginmanager.add_hookspecs(module)``.
    """


@_spec
def vecron_register_commands(cli: typer.Typer) -> None:
    """Add commands or command groups to the ``vecron`` command line.

    Called once when the command line starts, before it parses its arguments.

    :param cli: the root Typer app: ``cli.command()(f)`` or ``cli.add_typer(group,
        name=...)``. Commands follow core's: parse, call a service, print its view.
    """


@_spec(firstresult=True)
def vecron_web_app(runtime: Runtime) -> web.Application | None:
    """The aiohttp application that ``vecron up`` (and ``vecron api``) serves on its port.

    Called once per serving process, after the runtime opened. The first non-``None``
    answer wins; it must serve ``/healthz`` and ``/readyz`` too. With no answer (the API
    is not installed) vecron serves the probes alone.

    :param runtime: the opened runtime: services, settings, registry, events.
    """

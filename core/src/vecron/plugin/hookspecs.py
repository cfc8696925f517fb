"""Hook specifications. Hooks are synchronous and only register things.

Everything that runs is an async object behind an abstract base class
(:class:`vecron.plugin.executor.Executor`, :class:`vecron.plugin.trigger.Trigger`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from vecron.events import Event
    from vecron.plugin.registry import Registry

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

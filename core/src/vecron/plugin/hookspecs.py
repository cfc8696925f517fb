"""Hook specifications. Hooks are synchronous and only register things.

Everything that runs is an async object behind an abstract base class
(:class:`vecron.plugin.executor.Executor`, :class:`vecron.plugin.trigger.Trigger`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from vecron.events import ExecutionEvent
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
def vecron_execution_event(event: ExecutionEvent) -> None:
    """Observe an execution's life: created, started, step finished, finished.

    Called in the process where the event happened, after it was committed. An
    exception in an observer is logged and never fails the execution.

    :param event: what happened, to which execution.
    """

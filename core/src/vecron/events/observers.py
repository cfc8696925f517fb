"""Handing an event to the ``vecron_execution_event`` observers, through pluggy.

Pluggy stops a hook call at the first implementation that raises. An observer's bug
must not hide the event from the others, so after a failure the call is made again
through :meth:`pluggy.PluginManager.subset_hook_caller` without the plugins already
called (the failed one included): every observer is called at most once per event.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import CodeType
from typing import Any

import pluggy

from vecron.events.kinds import Event
from vecron.telemetry import get_logger

log = get_logger("vecron.events")

HOOK = "vecron_execution_event"


def notify(pm: pluggy.PluginManager, event: Event) -> None:
    """Call every observer once with ``event``; one that raises is logged and skipped."""
    done: list[object] = []  # plugins called already (or failed)
    while True:
        caller = pm.subset_hook_caller(HOOK, done) if done else getattr(pm.hook, HOOK)
        # Pluggy calls implementations last-registered first (wrappers and tryfirst
        # ones before the others): the reverse of get_hookimpls().
        order = list(reversed(caller.get_hookimpls()))
        if not order:
            return
        try:
            caller(event=event)
            return
        except Exception as exc:
            failed = _raiser(exc, order)
            log.error(
                "event observer failed",
                plugin=failed.plugin_name if failed else "<unknown>",
                event_kind=event.kind.value,
                exc_info=exc,
            )
            if failed is None:
                # Who ran before it is unknown: calling anyone again could call an
                # observer twice, so the rest miss this one event.
                return
            done.extend(impl.plugin for impl in order[: order.index(failed) + 1])


def _raiser(exc: BaseException, order: Sequence[pluggy.HookImpl]) -> pluggy.HookImpl | None:
    """The implementation that raised ``exc``: the outermost frame of its traceback that
    runs an implementation's code (pluggy calls the implementation directly)."""
    by_code: dict[CodeType, list[pluggy.HookImpl]] = {}
    for impl in order:
        code = _code_of(impl.function)
        if code is not None:
            by_code.setdefault(code, []).append(impl)
    tb = exc.__traceback__
    while tb is not None:
        candidates = by_code.get(tb.tb_frame.f_code)
        if candidates:
            if len(candidates) == 1:
                return candidates[0]
            # Two instances of one observer class share the code; tell them by self.
            owner = tb.tb_frame.f_locals.get("self")
            owned = [i for i in candidates if getattr(i.function, "__self__", None) is owner]
            return owned[0] if len(owned) == 1 else None
        tb = tb.tb_next
    return None


def _code_of(function: Callable[..., object]) -> CodeType | None:
    code = getattr(function, "__code__", None)  # functions and bound methods
    if code is None and callable(function):  # a callable object
        code = getattr(type(function).__call__, "__code__", None)
    return code if isinstance(code, CodeType) else None


@dataclass(frozen=True, slots=True)
class _Marker:
    """Put behind the events to wait for; calls ``reached`` when the thread gets to it."""

    reached: Callable[[], Any]


_STOP = object()


class ObserverThread:
    """Calls the observers in a thread of their own, in emission order.

    Observers are synchronous plugin code; one that is slow (an alert sent over HTTP)
    must not stall the event loop that runs the scheduler and the worker.
    """

    def __init__(self, pm: pluggy.PluginManager, *, limit: int) -> None:
        self.pm = pm
        self.limit = limit
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._pending = 0  # events queued, not yet handed to the observers
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, event: Event) -> bool:
        """Queue ``event``; False (dropped) when ``limit`` events are already waiting."""
        with self._lock:
            if self._pending >= self.limit:
                return False
            self._pending += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="vecron-event-observers", daemon=True
                )
                self._thread.start()
        self._queue.put(event)
        return True

    def mark(self, reached: Callable[[], Any]) -> bool:
        """Call ``reached`` (in the thread) once every event queued so far was handed
        over; False when the thread is not running (nothing is queued)."""
        with self._lock:
            if self._thread is None:
                return False
        self._queue.put(_Marker(reached))
        return True

    def stop(self, timeout: float) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            thread.join(timeout)  # a daemon thread: a hung observer never holds the exit

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            try:
                if isinstance(item, _Marker):
                    item.reached()
                else:
                    with self._lock:
                        self._pending -= 1
                    notify(self.pm, item)  # type: ignore[arg-type]
            except BaseException:
                log.exception("event delivery failed")

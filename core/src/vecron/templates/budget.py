"""What one render may spend: time, loop iterations and calls, memory, and value sizes.

A template is a small program its author controls: two nested loops or a string doubled
in a loop are a few characters each and would hold a worker for seconds or allocate
gigabytes. The sandbox charges every loop iteration, every call and every value it
builds to the :class:`Budget` of the render in progress, and refuses an operation whose
result would be too big before building it. The first limit crossed stops the render
with :class:`BudgetExceeded`, which names the limit.

Values read from the Job Context are data and cost nothing; only what the template
builds from them is charged.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from jinja2.exceptions import SecurityError
from jinja2.utils import Namespace

#: Loop iterations plus calls (macros, methods, functions) one render may make.
MAX_ITERATIONS = 100_000
#: Bytes of strings, lists and dicts one render may build, counted as they are built.
MAX_MEMORY = 32 * 1024 * 1024
#: Longest string a template may build, and longest text one field may render to.
MAX_TEXT = 1024 * 1024
#: Most items a list, tuple or dict built by a template may hold, nested ones included.
MAX_ITEMS = 1_000_000
#: Largest a list, tuple or dict built by a template may be written out (as JSON, say),
#: in characters: an executor writes what it is handed.
MAX_DATA = 16 * 1024 * 1024
#: Longest a render may run when the step's timeout does not say less, in seconds.
RENDER_SECONDS = 10.0
#: Deepest nesting of brackets ``( [ {`` in one template: the parser recurses on each.
MAX_NESTING = 30
#: Deepest syntax tree (operators, filters, attribute chains, blocks) one template may have.
MAX_TREE_DEPTH = 100

_MIB = 1024 * 1024
_T = TypeVar("_T")


class BudgetExceeded(SecurityError):
    """A render crossed one of its limits; the message names which."""


class SliceSpent(Exception):
    """The short inline slice of a render is over: render it again off the event loop."""


class Budget:
    """The limits of one render, and what it has spent of them.

    Thread-safe in the one way needed: :meth:`cancel` may be called from another thread
    (the event loop, when the job times out) while the render runs.
    """

    __slots__ = ("_cancelled", "_until", "deadline", "iterations", "memory", "seconds", "what")

    def __init__(self, seconds: float = RENDER_SECONDS, *, what: str = "the render limit") -> None:
        self.seconds = seconds
        self.what = what
        self.deadline = time.monotonic() + seconds
        self.iterations = MAX_ITERATIONS
        self.memory = MAX_MEMORY
        self._until = self.deadline
        self._cancelled = False

    @classmethod
    def for_timeout(cls, timeout: float) -> Budget:
        """A budget that ends with a step's ``timeout`` (or :data:`RENDER_SECONDS`, if sooner)."""
        if timeout <= RENDER_SECONDS:
            return cls(timeout, what="the step's timeout")
        return cls(RENDER_SECONDS)

    def slice(self, seconds: float) -> None:
        """End the render with :class:`SliceSpent` if it is not done in ``seconds``."""
        self._until = min(self.deadline, time.monotonic() + seconds)

    def resume(self) -> None:
        """Start over with the whole budget, keeping the deadline."""
        self._until = self.deadline
        self.iterations = MAX_ITERATIONS
        self.memory = MAX_MEMORY

    def cancel(self) -> None:
        """Stop the render at its next loop iteration, call or built value."""
        self._cancelled = True
        self._until = -math.inf

    def tick(self) -> None:
        """One loop iteration or call."""
        self.iterations -= 1
        if self.iterations < 0:
            raise BudgetExceeded(f"more than {MAX_ITERATIONS} loop iterations and calls")
        if time.monotonic() > self._until:
            self._out_of_time()

    def charge(self, nbytes: int) -> None:
        """A value of ``nbytes`` was built."""
        self.memory -= nbytes
        if self.memory < 0:
            raise BudgetExceeded(f"the template built more than {MAX_MEMORY // _MIB} MiB of values")
        if time.monotonic() > self._until:
            self._out_of_time()

    def _out_of_time(self) -> None:
        if self._cancelled:
            raise BudgetExceeded("rendering was stopped: the job timed out")
        if time.monotonic() <= self.deadline:
            raise SliceSpent
        raise BudgetExceeded(f"rendering took longer than {self.seconds:g} s ({self.what})")


_CURRENT: ContextVar[Budget | None] = ContextVar("vecron_template_budget", default=None)


@contextmanager
def spending(budget: Budget) -> Iterator[Budget]:
    """Charge what the sandbox does in this block (this thread or task) to ``budget``."""
    token = _CURRENT.set(budget)
    try:
        yield budget
    finally:
        _CURRENT.reset(token)


def tick() -> None:
    """One loop iteration or call of the render in progress (none outside a render)."""
    budget = _CURRENT.get()
    if budget is not None:
        budget.tick()


def charge(value: _T) -> _T:
    """``value``, a string or container just built, charged at its own size (not its items')."""
    budget = _CURRENT.get()
    if budget is not None:
        budget.charge(sys.getsizeof(value))
    return value


def charge_bytes(nbytes: int) -> None:
    """Working memory of ``nbytes`` an operation is about to use."""
    budget = _CURRENT.get()
    if budget is not None:
        budget.charge(nbytes)


def charge_tree(value: Any) -> Any:
    """``value``, just built with everything in it (parsed JSON), charged in full."""
    budget = _CURRENT.get()
    if budget is None:
        return value
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        total += sys.getsizeof(item)
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        if total > budget.memory:
            break
    budget.charge(total)
    return value


def check_text(size: int) -> None:
    """Refuse a string of ``size`` characters before it is built."""
    if size > MAX_TEXT:
        raise BudgetExceeded(f"text of {size} characters is over the limit of {MAX_TEXT}")


def check_items(count: int) -> None:
    """Refuse a container of ``count`` items (nested ones included) before it is built."""
    if count > MAX_ITEMS:
        raise BudgetExceeded(f"result of {count} items is over the limit of {MAX_ITEMS}")


def _children(value: Any) -> tuple[int, Any] | None:
    """(items, what to walk) of a container; None for a scalar."""
    if isinstance(value, str | bytes):
        return None
    if isinstance(value, Mapping):
        return len(value), value.values()
    if isinstance(value, list | tuple):
        return len(value), value
    if isinstance(value, range):
        return len(value), ()
    if isinstance(value, Namespace):
        attrs: dict[str, Any] = value._Namespace__attrs
        return len(attrs), attrs.values()
    return None


#: What holds no items: a container of only these is counted by its length alone.
_SCALARS = frozenset({str, bytes, int, float, bool, type(None)})


def items_in(value: Any, limit: int = MAX_ITEMS) -> int:
    """Items in ``value`` with nested ones, an item held twice counted twice (as copying,
    comparing or writing it out would visit it); stops counting once past ``limit``."""
    count = 0
    stack = [value]
    while stack:
        found = _children(stack.pop())
        if found is not None:
            count += found[0]
            if count > limit:
                return count
            # The types are gathered in C: a long list of numbers is not walked in Python.
            if not _SCALARS.issuperset(set(map(type, found[1]))):
                stack.extend(found[1])
    return count


def text_size(value: Any, limit: int = MAX_TEXT) -> int:
    """About how many characters ``value`` has written out; stops counting past ``limit``.

    Exact for strings; for containers, their items' sizes (an item held twice counted
    twice) plus a little for brackets and separators, so a list holding one long string
    many times is known to be huge before its text is built.
    """
    size = 0
    stack = [value]
    while stack and size <= limit:
        item = stack.pop()
        if isinstance(item, str):
            size += len(item) + 2
        elif isinstance(item, bytes):
            size += 4 * len(item) + 3
        elif isinstance(item, int):
            size += item.bit_length() // 3 + 2
        elif isinstance(item, Mapping):
            size += 4 * len(item) + 16
            stack.extend(item.keys())
            stack.extend(item.values())
        else:
            found = _children(item)
            if found is None:
                size += 32
                continue
            count, children = found
            size += 2 * count + 16
            kinds = set(map(type, children))
            # Long lists of one kind are measured in C, not item by item.
            if kinds <= {str}:
                size += sum(map(len, children)) + 2 * count
            elif kinds <= {int}:
                size += sum(map(int.bit_length, children)) // 3 + 2 * count
            elif kinds <= {float, bool, type(None)}:
                size += 24 * count
            else:
                stack.extend(children)
    return size


def check_built(value: Any, times: int = 1) -> None:
    """Refuse ``value`` (repeated ``times``), a container a template is building, if it
    would hold too many items or be too big to write out."""
    check_items(items_in(value, MAX_ITEMS // times) * times)
    size = text_size(value, MAX_DATA // times) * times
    if size > MAX_DATA:
        raise BudgetExceeded(
            f"value of about {size} characters written out is over the limit of {MAX_DATA}"
        )

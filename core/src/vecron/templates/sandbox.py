"""The one Jinja environment every template runs in: sandboxed, strict, self-contained.

Templates are written by job authors but evaluated inside workers, so the environment
grants data access and nothing else: no loaders (no include/import/extends, no files),
no network, no Python internals (the sandbox refuses ``_``-attributes and function
internals), no mutation of context data (immutable sandbox), and caps on the few
operations that could make a tiny template allocate gigabytes. What a render may spend in
all (time, loop iterations, memory) is metered by :mod:`.budget`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
from collections.abc import Callable, Iterator, Mapping, Sized
from datetime import date, datetime, time, timedelta
from functools import cache, lru_cache
from typing import Any

from jinja2 import StrictUndefined, Undefined, nodes
from jinja2.exceptions import SecurityError
from jinja2.filters import FILTERS
from jinja2.runtime import Context, Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace
from jsonpath_ng.exceptions import JSONPathError
from jsonpath_ng.ext.parser import parse as parse_jsonpath
from jsonpath_ng.jsonpath import JSONPath

from vecron.templates.budget import charge, charge_bytes, charge_tree, check_built, check_text, tick
from vecron.templates.codegen import BudgetedCodeGenerator
from vecron.templates.writing import (
    fail_if_undefined,
    finalize,
    join_filter,
    join_pieces,
    join_texts,
    replace_filter,
    string_filter,
    sum_filter,
    tojson_filter,
    urlencode_filter,
)

#: Largest ``range()`` a template may build.
MAX_RANGE = 10_000
#: Largest integer ``**`` or ``*`` may produce, in bits.
MAX_POWER_BITS = 4096

#: Jinja's own filters that only transform data and cannot amplify it beyond the caps.
#: Left out on purpose: batch/slice/center/indent/wordwrap/format (can allocate
#: arbitrarily from a small argument), attr (reflection), random (non-deterministic),
#: escape/safe/forceescape/striptags/urlize/xmlattr/pprint/filesizeformat (HTML or
#: display helpers with no use in step configs).
_BUILTIN_FILTERS = (
    "abs",
    "capitalize",
    "count",
    "d",
    "default",
    "dictsort",
    "first",
    "float",
    "groupby",
    "int",
    "items",
    "join",
    "last",
    "length",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "reject",
    "rejectattr",
    "reverse",
    "round",
    "select",
    "selectattr",
    "sort",
    "string",
    "sum",
    "title",
    "trim",
    "truncate",
    "unique",
    "upper",
    "urlencode",
    "wordcount",
)

#: Filters that build a new string or container from their input: what they build is
#: charged to the render's budget. (join, string, sum, urlencode, tojson and replace are
#: replaced by versions that measure their result before building it.)
_BUILDING_FILTERS = frozenset(
    {
        "capitalize",
        "dictsort",
        "groupby",
        "list",
        "lower",
        "reverse",
        "sort",
        "title",
        "trim",
        "truncate",
        "upper",
    }
)

#: Filters that build a key object per item of their input (Jinja's attribute getters
#: return a list per item): about this many bytes per item, charged before they run.
_KEYED_FILTERS = frozenset({"dictsort", "groupby", "max", "min", "sort", "unique"})
_KEY_BYTES = 128

#: What a filter, call or operator may build, to be charged.
_BUILT = (str, bytes, list, tuple, dict)

#: ``str``/``bytes`` methods whose small arguments produce huge results.
_AMPLIFYING_TEXT_METHODS = frozenset(
    {"center", "ljust", "rjust", "zfill", "expandtabs", "format", "format_map", "translate"}
)

#: Roots a template may read, besides the environment's globals.
NAMESPACES = frozenset({"vars", "steps", "trigger", "execution", "webhook"})


class StrictChainedUndefined(StrictUndefined):
    """Strict, but ``a.b.c | default(x)`` works when ``a.b`` is missing.

    Attribute and item access on an undefined value yields the same undefined value;
    every other use (printing, iterating, comparing, testing truth) raises.
    """

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        # Dunder probes (copy, pickle, json) must see "no such attribute", not a value.
        if name[:2] == "__" and name[-2:] == "__":
            raise AttributeError(name)
        return self

    def __getitem__(self, key: Any) -> Any:
        return self


def as_data(value: Any) -> Any:
    """``value`` as plain data, or an error naming what it is.

    A whole-field expression hands its value to an executor as it is, so it must be data
    (what JSON holds, plus times), never an object from inside the template engine.
    """
    if isinstance(value, Undefined):
        fail_if_undefined(value)
    if value is None or isinstance(value, str | int | float | datetime | date | time | timedelta):
        return value
    if isinstance(value, Mapping):
        return {as_data(key): as_data(item) for key, item in value.items()}
    if isinstance(value, list | tuple | range):
        return [as_data(item) for item in value]
    raise TypeError(f"the expression gives a {type(value).__name__} object, not data")


@lru_cache(maxsize=512)
def _jsonpath(expression: str) -> JSONPath:
    try:
        return parse_jsonpath(expression)
    except (JSONPathError, ValueError, TypeError) as error:
        raise ValueError(f"invalid JSONPath {expression!r}: {error}") from None


def jsonpath_filter(value: Any, expression: str, first: bool = False) -> Any:
    """Every match of ``expression`` in ``value`` as a list, or the first one.

    ``first=True`` with no match raises: an empty result must not render as nothing.
    """
    fail_if_undefined(value)
    matches = [match.value for match in _jsonpath(str(expression)).find(value)]
    if not first:
        return matches
    if not matches:
        raise LookupError(f"JSONPath {expression!r} matched nothing")
    return matches[0]


def jsonpath_first_filter(value: Any, expression: str) -> Any:
    return jsonpath_filter(value, expression, first=True)


def fromjson_filter(value: Any) -> Any:
    return charge_tree(json.loads(str(fail_if_undefined(value))))


def b64encode_filter(value: Any) -> str:
    data = fail_if_undefined(value)
    raw = data if isinstance(data, bytes) else str(data).encode()
    return base64.b64encode(raw).decode("ascii")


def b64decode_filter(value: Any) -> str:
    try:
        return base64.b64decode(str(fail_if_undefined(value)), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as error:
        raise ValueError(f"not base64 text: {error}") from None


def _capped_range(*args: int) -> range:
    values = range(*args)
    if len(values) > MAX_RANGE:
        raise SecurityError(f"range of {len(values)} items is over the limit of {MAX_RANGE}")
    return values


def _charged(function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter whose new strings and containers are charged to the render's budget."""

    @functools.wraps(function)  # keeps Jinja's pass_context/pass_environment mark
    def charged(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        if isinstance(result, _BUILT) and not any(result is arg for arg in args):
            charge(result)
        return result

    return charged


def _keyed(function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that builds a key per item (sort, unique...): charged before it starts."""

    first = 1 if hasattr(function, "jinja_pass_arg") else 0  # after the environment

    @functools.wraps(function)
    def keyed(*args: Any, **kwargs: Any) -> Any:
        if len(args) > first and isinstance(args[first], Sized):
            charge_bytes(_KEY_BYTES * len(args[first]))
        return function(*args, **kwargs)

    return keyed


def _check_repeat(sequence: Any, times: Any) -> None:
    if not isinstance(times, int) or times <= 0:
        return
    if isinstance(sequence, str | bytes):
        check_text(len(sequence) * times)
    elif isinstance(sequence, list | tuple):
        check_built(sequence, times)


class _Counted:
    """A loop's iterable, charging one tick per item; its length is the iterable's own."""

    __slots__ = ("_items",)

    def __init__(self, items: Any) -> None:
        self._items = items

    def __iter__(self) -> Iterator[Any]:
        for item in self._items:
            tick()
            yield item

    def __len__(self) -> int:
        return len(self._items)


class TemplateSandbox(ImmutableSandboxedEnvironment):
    """The sandbox plus vecron's data-first lookup, size caps and budget meters."""

    intercepted_binops = frozenset({"+", "*", "**", "%"})
    code_generator_class = BudgetedCodeGenerator
    concat = staticmethod(join_pieces)  # macros and block sets: measured, then joined

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Data wins over methods: `output.items` is the key "items", not dict.items.
        if isinstance(obj, Mapping):
            try:
                return obj[attribute]
            except (KeyError, TypeError):
                pass
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        value = super().getitem(obj, argument)
        if isinstance(argument, slice) and isinstance(value, _BUILT) and value is not obj:
            charge(value)
        return value

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str | bytes | bytearray) and attr in _AMPLIFYING_TEXT_METHODS:
            return False
        if isinstance(obj, bytes | bytearray) and attr in ("join", "replace"):
            return False
        if isinstance(obj, int) and attr == "to_bytes":
            return False
        return bool(super().is_safe_attribute(obj, attr, value))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        # str.format reaches attributes through format fields and pads without bound.
        if not (
            callable(value)
            and getattr(value, "__name__", None) in ("format", "format_map")
            and isinstance(getattr(value, "__self__", None), str)
        ):
            return None

        def refuse(*args: Any, **kwargs: Any) -> str:
            raise SecurityError("str.format is not available in templates; use ~")

        return refuse

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        tick()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str) and not kwargs:
            # The two str methods whose result can dwarf their arguments are measured first.
            name = getattr(__obj, "__name__", None)
            if name == "join" and len(args) == 1:
                return join_texts(owner, args[0])
            if name == "replace" and 2 <= len(args) <= 3:
                return replace_filter(owner, *args)
        result = super().call(__context, __obj, *args, **kwargs)
        if __obj is dict:  # dict(a=x, b=x) is a literal by another name
            check_built(result)
        if isinstance(result, _BUILT) and not isinstance(__obj, Macro):
            charge(result)  # a macro's text was charged as it was joined
        return result

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        fail_if_undefined(left)
        fail_if_undefined(right)
        if operator == "%" and isinstance(left, str):
            raise SecurityError("%-formatting of strings is not available in templates; use ~")
        if operator == "*":
            _check_repeat(left, right)
            _check_repeat(right, left)
            if (
                isinstance(left, int)
                and isinstance(right, int)
                and left.bit_length() + right.bit_length() > MAX_POWER_BITS + 1
            ):
                raise SecurityError(f"product is over the limit of {MAX_POWER_BITS} bits")
        elif operator == "+":
            if isinstance(left, str) and isinstance(right, str):
                check_text(len(left) + len(right))
            elif isinstance(left, list | tuple) and isinstance(right, list | tuple):
                check_built([left, right])
        elif (
            operator == "**"
            and isinstance(left, int)
            and isinstance(right, int)
            and abs(left) > 1
            and right > 0
            and right * math.log2(abs(left)) > MAX_POWER_BITS
        ):
            raise SecurityError(f"power result is over the limit of {MAX_POWER_BITS} bits")
        result = super().call_binop(context, operator, left, right)
        return charge(result) if isinstance(result, _BUILT) else result

    def counted(self, iterable: Any) -> _Counted:
        """A ``for`` loop's iterable (the code generator wraps each in this)."""
        return _Counted(fail_if_undefined(iterable))

    def built(self, value: Any) -> Any:
        """A list, tuple or dict literal's value (the code generator wraps each in this)."""
        check_built(value)
        return charge(value)

    def join_values(self, values: tuple[Any, ...]) -> str:
        """``a ~ b ~ c`` (the code generator sends each ``~`` here)."""
        return join_texts("", values)


#: Jinja statements that would load other templates: nothing is there to load.
FORBIDDEN_NODES: tuple[type[nodes.Node], ...] = (
    nodes.Extends,
    nodes.Include,
    nodes.Import,
    nodes.FromImport,
)


@cache
def sandbox() -> TemplateSandbox:
    """The process-wide environment (built on first use, not at import)."""
    env = TemplateSandbox(
        undefined=StrictChainedUndefined,
        autoescape=False,
        loader=None,
        finalize=finalize,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    env.filters = {name: FILTERS[name] for name in _BUILTIN_FILTERS}
    for name in _KEYED_FILTERS:
        env.filters[name] = _keyed(env.filters[name])
    for name in _BUILDING_FILTERS:
        env.filters[name] = _charged(env.filters[name])
    env.filters.update(
        jsonpath=_charged(jsonpath_filter),
        jsonpath_first=jsonpath_first_filter,
        tojson=tojson_filter,
        fromjson=fromjson_filter,
        b64encode=_charged(b64encode_filter),
        b64decode=_charged(b64decode_filter),
        replace=replace_filter,
        join=join_filter,
        string=string_filter,
        sum=sum_filter,
        urlencode=urlencode_filter,
    )
    env.globals = {"range": _capped_range, "dict": dict, "namespace": Namespace}
    return env

"""The one Jinja environment every template runs in: sandboxed, strict, self-contained.

Templates are written by job authors but evaluated inside workers, so the environment
grants data access and nothing else: no loaders (no include/import/extends, no files),
no network, no Python internals (the sandbox refuses ``_``-attributes and function
internals), no mutation of context data (immutable sandbox), and caps on the few
operations that could make a tiny template allocate gigabytes.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from functools import cache, lru_cache
from typing import Any

from jinja2 import StrictUndefined, Undefined, nodes
from jinja2.exceptions import SecurityError
from jinja2.filters import FILTERS
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace
from jsonpath_ng.exceptions import JSONPathError
from jsonpath_ng.ext.parser import parse as parse_jsonpath
from jsonpath_ng.jsonpath import JSONPath

#: Largest ``range()`` a template may build.
MAX_RANGE = 10_000
#: Largest string or list a ``*`` or ``replace`` may produce, in items or characters.
MAX_SEQUENCE = 1_000_000
#: Largest integer ``**`` may produce, in bits.
MAX_POWER_BITS = 4096
#: Longest text one string field may render to.
MAX_TEXT = 10_000_000

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

#: ``str`` methods whose small arguments produce huge strings.
_AMPLIFYING_STR_METHODS = frozenset(
    {"center", "ljust", "rjust", "zfill", "expandtabs", "format", "format_map"}
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


def fail_if_undefined(value: Any) -> Any:
    """``value`` itself; raises the undefined value's own error if it is undefined."""
    if isinstance(value, Undefined):
        str(value)  # a StrictUndefined raises here, naming what is missing
    return value


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


def json_default(value: Any) -> Any:
    """What ``json.dumps`` writes for the non-JSON values a context may hold."""
    fail_if_undefined(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    raise TypeError(f"{type(value).__name__} value cannot be written as JSON")


def finalize(value: Any) -> Any:
    """How a value reads inside mixed text: JSON for structures, ``true``/``null``, ISO times.

    Step configs are mostly URLs, JSON bodies and commands, where ``True``/``None`` and
    Python reprs would be wrong.
    """
    if isinstance(value, Undefined):
        return value
    if value is None or isinstance(value, bool | Mapping | list | tuple):
        return json.dumps(value, default=json_default, ensure_ascii=False)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


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


def tojson_filter(value: Any, indent: int | None = None) -> str:
    """JSON text, without the HTML escaping Jinja's own ``tojson`` applies."""
    fail_if_undefined(value)
    if indent is not None and not 0 <= int(indent) <= 8:
        raise SecurityError("tojson indent must be between 0 and 8")
    return json.dumps(value, default=json_default, ensure_ascii=False, indent=indent)


def fromjson_filter(value: Any) -> Any:
    return json.loads(str(fail_if_undefined(value)))


def b64encode_filter(value: Any) -> str:
    data = fail_if_undefined(value)
    raw = data if isinstance(data, bytes) else str(data).encode()
    return base64.b64encode(raw).decode("ascii")


def b64decode_filter(value: Any) -> str:
    try:
        return base64.b64decode(str(fail_if_undefined(value)), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as error:
        raise ValueError(f"not base64 text: {error}") from None


def replace_filter(value: Any, old: str, new: str, count: int | None = None) -> str:
    text, old, new = str(fail_if_undefined(value)), str(old), str(new)
    occurrences = len(text) + 1 if old == "" else text.count(old)
    _check_size(len(text) + occurrences * len(new))
    return text.replace(old, new, -1 if count is None else count)


def _capped_range(*args: int) -> range:
    values = range(*args)
    if len(values) > MAX_RANGE:
        raise SecurityError(f"range of {len(values)} items is over the limit of {MAX_RANGE}")
    return values


def _check_size(size: int) -> None:
    if size > MAX_SEQUENCE:
        raise SecurityError(f"result of {size} items is over the limit of {MAX_SEQUENCE}")


class TemplateSandbox(ImmutableSandboxedEnvironment):
    """The sandbox plus vecron's data-first lookup and size caps."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Data wins over methods: `output.items` is the key "items", not dict.items.
        if isinstance(obj, Mapping):
            try:
                return obj[attribute]
            except (KeyError, TypeError):
                pass
        return super().getattr(obj, attribute)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str) and attr in _AMPLIFYING_STR_METHODS:
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

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        fail_if_undefined(left)
        fail_if_undefined(right)
        if operator == "%" and isinstance(left, str):
            raise SecurityError("%-formatting of strings is not available in templates; use ~")
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                if isinstance(sequence, str | list | tuple) and isinstance(times, int):
                    _check_size(len(sequence) * times)
        if (
            operator == "**"
            and isinstance(left, int)
            and isinstance(right, int)
            and abs(left) > 1
            and right > 0
            and right * math.log2(abs(left)) > MAX_POWER_BITS
        ):
            raise SecurityError(f"power result is over the limit of {MAX_POWER_BITS} bits")
        return super().call_binop(context, operator, left, right)


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
    env.filters.update(
        jsonpath=jsonpath_filter,
        jsonpath_first=jsonpath_first_filter,
        tojson=tojson_filter,
        fromjson=fromjson_filter,
        b64encode=b64encode_filter,
        b64decode=b64decode_filter,
        replace=replace_filter,
    )
    env.globals = {"range": _capped_range, "dict": dict, "namespace": Namespace}
    return env

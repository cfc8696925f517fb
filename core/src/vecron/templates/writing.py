"""Values written as text, and the filters that write text, each refused before it is
built when it would be over :data:`~vecron.templates.budget.MAX_TEXT`.

A list holding one long string a thousand times is small in memory and huge as text, so
every way a template turns a value into text (``~``, ``join``, ``string``, ``tojson``,
``urlencode``, ``{{ }}`` in mixed text) measures it first.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from jinja2 import Undefined, pass_environment
from jinja2.environment import Environment
from jinja2.exceptions import SecurityError
from jinja2.filters import make_attrgetter
from jinja2.utils import url_quote

from vecron.templates.budget import MAX_TEXT, charge, check_built, check_text, text_size


def fail_if_undefined(value: Any) -> Any:
    """``value`` itself; raises the undefined value's own error if it is undefined."""
    if isinstance(value, Undefined):
        str(value)  # a StrictUndefined raises here, naming what is missing
    return value


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


def text_of(value: Any) -> str:
    """``str(value)``, measured before it is built."""
    if isinstance(value, str):
        return value
    if isinstance(value, Undefined):
        return str(value)  # a StrictUndefined raises, naming what is missing
    if value is None or isinstance(value, bool | float):
        return str(value)
    check_text(text_size(value, MAX_TEXT))
    text = str(value)
    check_text(len(text))
    return charge(text)


def json_text(value: Any, indent: int | None = None) -> str:
    """JSON text of ``value``, written piece by piece and stopped once over the limit."""
    fail_if_undefined(value)
    encoder = json.JSONEncoder(default=json_default, ensure_ascii=False, indent=indent)
    pieces: list[str] = []
    size = 0
    for piece in encoder.iterencode(value):
        size += len(piece)
        check_text(size)
        pieces.append(piece)
    return charge("".join(pieces))


def join_texts(separator: str, items: Iterable[Any]) -> str:
    """``separator.join`` of the items' text, refused before the joined text is built."""
    pieces: list[str] = []
    size = -len(separator)
    for item in items:
        piece = text_of(item)
        size += len(piece) + len(separator)
        check_text(size)
        pieces.append(piece)
    return charge(separator.join(pieces))


def join_pieces(pieces: Iterable[str]) -> str:
    """The text of a macro, a ``{% set %}`` block or a ``{% filter %}`` block."""
    return join_texts("", pieces)


def finalize(value: Any) -> Any:
    """How a value reads inside mixed text: JSON for structures, ``true``/``null``, ISO times.

    Step configs are mostly URLs, JSON bodies and commands, where ``True``/``None`` and
    Python reprs would be wrong.
    """
    if isinstance(value, Undefined | str | int | float) and not isinstance(value, bool):
        return value
    if value is None or isinstance(value, bool | Mapping | list | tuple):
        return json_text(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return text_of(value)


def tojson_filter(value: Any, indent: int | None = None) -> str:
    """JSON text, without the HTML escaping Jinja's own ``tojson`` applies."""
    if indent is not None and not 0 <= int(indent) <= 8:
        raise SecurityError("tojson indent must be between 0 and 8")
    return json_text(value, indent)


def string_filter(value: Any) -> str:
    return text_of(value)


@pass_environment
def join_filter(
    environment: Environment, value: Iterable[Any], d: str = "", attribute: Any = None
) -> str:
    if attribute is not None:
        value = map(make_attrgetter(environment, attribute), value)
    return join_texts(str(d), fail_if_undefined(value))


@pass_environment
def sum_filter(
    environment: Environment, iterable: Iterable[Any], attribute: Any = None, start: Any = 0
) -> Any:
    items = list(fail_if_undefined(iterable))
    if attribute is not None:
        items = list(map(make_attrgetter(environment, attribute), items))
    if isinstance(start, list | tuple):
        # Adding lists builds a new list per item: its size is known before any is built.
        check_built([start, *items])
    return sum(items, start)


def replace_filter(value: Any, old: str, new: str, count: int | None = None) -> str:
    text, old, new = str(fail_if_undefined(value)), str(old), str(new)
    occurrences = len(text) + 1 if old == "" else text.count(old)
    if count is not None and count >= 0:
        occurrences = min(occurrences, count)
    check_text(len(text) + occurrences * max(len(new) - len(old), 0))
    return charge(text.replace(old, new, -1 if count is None else count))


def urlencode_filter(value: Any) -> str:
    """Jinja's ``urlencode``, with each part measured before it is quoted."""
    fail_if_undefined(value)
    if isinstance(value, str) or not isinstance(value, Iterable):
        text = text_of(value)
        check_text(3 * len(text.encode()))  # at most three characters per byte
        return charge(url_quote(text))
    pairs = value.items() if isinstance(value, Mapping) else value
    pieces: list[str] = []
    size = 0
    for pair in pairs:
        parts = [text_of(part) for part in pair]
        size += sum(3 * len(part.encode()) + 1 for part in parts)
        check_text(size)
        pieces.append("=".join(url_quote(part, for_qs=True) for part in parts))
    return charge("&".join(pieces))

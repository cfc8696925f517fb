"""Typed values from what users write, and values made safe for a step's JSON output.

Steps that move data let a job declare a type per value (``types: {amount: decimal}``).
The vocabulary is :data:`TypeName`; :func:`convert` (one value) and :func:`converter`
(a function for a whole column) turn text from a CSV file or a template, JSON values
and Python values into ``int``, ``Decimal``, ``float``, ``date``, ``datetime``, ``bool``
or ``str``. The rules, the same for every executor:

- None stays None, and empty or blank text is None for every type but ``str`` (a CSV
  file has no other way to write a null);
- numbers must be finite; ``int`` takes whole numbers only (``"4.0"`` gives 4);
  a float becomes a ``Decimal`` through its shortest text (``0.1``, not ``0.1000…``);
- ``bool`` takes ``True``/``False``, the numbers 0 and 1, and the words in
  :data:`TRUE_WORDS` and :data:`FALSE_WORDS` (any case);
- ``date`` and ``datetime`` read ISO 8601 text, or text in a ``strptime`` ``format``;
  a datetime gives its date, a date gives midnight;
- ``str`` keeps text as it is; booleans are ``true``/``false``, times ISO 8601, objects
  and lists JSON text, anything else ``str()``.

A value that does not convert raises :class:`ConversionError`, whose message says why
without quoting the value: the caller knows where it came from and whether it may be
shown. :func:`json_safe` goes the other way, making any value JSON-serialisable.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from functools import lru_cache, partial
from typing import Any, Final, Literal, get_args
from uuid import UUID

TypeName = Literal["int", "decimal", "float", "date", "datetime", "bool", "str"]
#: Every :data:`TypeName`, in the order of the literal.
TYPE_NAMES: Final[tuple[TypeName, ...]] = get_args(TypeName)

#: Words (lower case, compared after trimming and lowering) read as true and as false.
TRUE_WORDS: Final = frozenset({"true", "t", "yes", "y", "on", "1"})
FALSE_WORDS: Final = frozenset({"false", "f", "no", "n", "off", "0"})

#: Texts remembered per date or datetime :func:`converter`: strptime is slow, and a
#: column's dates repeat (a day's orders share their date).
PARSED_TEXTS: Final = 16_384

#: Digits of the largest whole number ``int`` accepts: ``int("1e999999999")`` would
#: build a number of a billion digits. The figure is Python's own limit for int text.
INT_DIGITS: Final = 4300

Converter = Callable[[Any], Any]


class ConversionError(ValueError):
    """A value does not convert to the declared type. The message says why and never
    holds the value (it may be personal data or a secret)."""


def _a(value: Any) -> str:
    """The value's type with its article, for messages: "an int", "a list"."""
    name = type(value).__name__
    return f"an {name}" if name[:1] in ("a", "e", "i", "o", "u") else f"a {name}"


def to_decimal(value: Any) -> Decimal:
    """A finite ``Decimal`` from a number or numeric text (``"12.50"``, ``"1e3"``)."""
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise ConversionError("not a number") from None
    elif isinstance(value, bool):
        raise ConversionError("a boolean is not a number")
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        # repr gives the shortest text that reads back as the same float: 0.1, not 0.1000…
        number = Decimal(repr(value))
    else:
        raise ConversionError(f"{_a(value)} is not a number")
    if not number.is_finite():
        raise ConversionError("not a finite number")
    return number


def to_int(value: Any) -> int:
    """An ``int`` from a whole number, whole-number text (``"42"``, ``"4.0"``) or float."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number = to_decimal(value)
    if number != number.to_integral_value():
        raise ConversionError("not a whole number")
    if number.adjusted() >= INT_DIGITS:
        raise ConversionError(f"too large: more than {INT_DIGITS} digits")
    return int(number)


def to_float(value: Any) -> float:
    """A finite ``float`` from a number or numeric text."""
    # Text goes through Decimal too (float() of it rounds the same way), and so do ints:
    # float() of a huge int raises OverflowError, not infinity.
    number = value if isinstance(value, float) else float(to_decimal(value))
    if not math.isfinite(number):
        raise ConversionError("not a finite number")
    return number


def to_bool(value: Any) -> bool:
    """A ``bool`` from a boolean, the number 0 or 1, or a word of :data:`TRUE_WORDS` or
    :data:`FALSE_WORDS`."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal) and not (
        isinstance(value, Decimal) and value.is_nan()  # a signalling NaN cannot compare
    ):
        if value == 1:
            return True
        if value == 0:
            return False
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise ConversionError("not a boolean (true/false, yes/no, on/off, 1/0)")


def to_str(value: Any) -> str:
    """Text: kept as it is; booleans ``true``/``false``, times in ISO 8601, objects and
    lists as JSON, anything else as ``str()`` writes it."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(json_safe(value), ensure_ascii=False)
    return str(value)


def _parse_date(text: str, format: str | None) -> date:
    try:
        return datetime.strptime(text, format).date() if format else date.fromisoformat(text)
    except ValueError:
        expected = f"format {format!r}" if format else "ISO 8601 (2024-01-31)"
        raise ConversionError(f"not a date in {expected}") from None


def _parse_datetime(text: str, format: str | None) -> datetime:
    try:
        return datetime.strptime(text, format) if format else datetime.fromisoformat(text)
    except ValueError:
        expected = f"format {format!r}" if format else "ISO 8601 (2024-01-31T08:30:00)"
        raise ConversionError(f"not a date and time in {expected}") from None


def _date(value: Any, parse: Callable[[str], date]) -> date:
    if isinstance(value, str):
        return parse(value.strip())
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raise ConversionError(f"{_a(value)} is not a date")


def _datetime(value: Any, parse: Callable[[str], datetime]) -> datetime:
    if isinstance(value, str):
        return parse(value.strip())
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    raise ConversionError(f"{_a(value)} is not a date and time")


def to_date(value: Any, format: str | None = None) -> date:
    """A ``date`` from text (ISO 8601, or ``format`` for ``strptime``), a date, or a
    datetime (its date; the time of day is dropped)."""
    return _date(value, partial(_parse_date, format=format))


def to_datetime(value: Any, format: str | None = None) -> datetime:
    """A ``datetime`` from text (ISO 8601 with its offset if any, or ``format`` for
    ``strptime``), a datetime, or a date (midnight)."""
    return _datetime(value, partial(_parse_datetime, format=format))


_SIMPLE: Final[Mapping[str, Converter]] = {
    "int": to_int,
    "decimal": to_decimal,
    "float": to_float,
    "bool": to_bool,
}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _keep_null(value: Any) -> str | None:
    # Blank text is a value for `str`; only None is null.
    return None if value is None else to_str(value)


def converter(type_name: TypeName, *, format: str | None = None) -> Converter:
    """The function converting one value to ``type_name``, for a column of many.

    Blank values give None (see the module's rules). A date or datetime converter
    remembers the last :data:`PARSED_TEXTS` texts it parsed.

    :raises ValueError: ``format`` given for a type other than date or datetime.
    """
    inner: Converter
    if type_name == "date":
        inner = partial(_date, parse=lru_cache(PARSED_TEXTS)(partial(_parse_date, format=format)))
    elif type_name == "datetime":
        parse = lru_cache(PARSED_TEXTS)(partial(_parse_datetime, format=format))
        inner = partial(_datetime, parse=parse)
    elif format is not None:
        raise ValueError(f"format applies to date and datetime, not to {type_name}")
    elif type_name == "str":
        return _keep_null
    else:
        inner = _SIMPLE[type_name]

    def convert_one(value: Any) -> Any:
        return None if _blank(value) else inner(value)

    return convert_one


def convert(value: Any, type_name: TypeName, *, format: str | None = None) -> Any:
    """``value`` as ``type_name`` (see the module's rules); ``format`` is a ``strptime``
    format for ``date`` and ``datetime``.

    :raises ConversionError: the value does not convert (the message omits the value).
    :raises ValueError: ``format`` given for a type other than date or datetime.
    """
    if type_name == "date":
        return None if _blank(value) else to_date(value, format)
    if type_name == "datetime":
        return None if _blank(value) else to_datetime(value, format)
    if format is not None:
        raise ValueError(f"format applies to date and datetime, not to {type_name}")
    if type_name == "str":
        return _keep_null(value)
    return None if _blank(value) else _SIMPLE[type_name](value)


def json_safe(value: Any) -> Any:
    """``value`` as JSON can hold it, with nothing lost that text can keep.

    None, booleans, ints and text stay as they are; a finite float stays a number, NaN
    and infinities become text (``"nan"``, ``"inf"``); ``Decimal`` and ``UUID`` become
    text (no precision lost); dates, times and datetimes ISO 8601 text; bytes base64;
    mappings (keys as text), lists and tuples are converted item by item; anything else
    (a ``timedelta``, say: ``"10:30:00"``) becomes ``str(value)``. Also fit to serve as
    ``json.dumps(default=json_safe)``.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return str(value)

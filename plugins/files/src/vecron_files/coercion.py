"""Type conversion of cell values: ``transform.types``.

Values arrive as text (CSV), as Excel's numbers, dates and booleans (XLSX) or as JSON
values (JSONL, inline rows); each converter accepts all of them. An empty cell (None, or
text that is empty or blank) is None for every type but ``str``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from openpyxl.utils.datetime import from_excel

from .config import ColumnType

Converter = Callable[[Any], Any]

TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "on"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "off"})


class ConversionError(ValueError):
    """A value cannot be converted; the message says why (without the value)."""


def _empty(value: Any) -> bool:
    return value is None or (type(value) is str and not value.strip())


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ConversionError("a boolean is not a number")
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise ConversionError("not a number") from None
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        # repr gives the shortest text that reads back as the same float: 0.1, not 0.1000…
        number = Decimal(repr(value))
    else:
        raise ConversionError(f"a {type(value).__name__} is not a number")
    if not number.is_finite():
        raise ConversionError("not a finite number")
    return number


def to_decimal(value: Any) -> Decimal:
    return _decimal(value)


def to_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number = _decimal(value)
    if number != number.to_integral_value():
        raise ConversionError("not a whole number")
    return int(number)


def to_float(value: Any) -> float:
    if isinstance(value, float):
        number = value
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise ConversionError("not a number") from None
    else:
        number = float(_decimal(value))
    if not math.isfinite(number):
        raise ConversionError("not a finite number")
    return number


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise ConversionError("not a boolean (true/false, yes/no, 1/0, on/off)")


def to_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _excel_serial(value: Any) -> datetime | None:
    # A date cell without a date number format reaches us as Excel's day number.
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        moment = from_excel(float(value))
        if isinstance(moment, datetime):
            return moment
    return None


#: Texts remembered per date or datetime column: strptime is slow, and a column's dates
#: repeat (a day's orders share their date).
PARSED_TEXTS = 16_384


def datetime_converter(fmt: str | None) -> Converter:
    @lru_cache(maxsize=PARSED_TEXTS)
    def parse(text: str) -> datetime:
        try:
            return datetime.strptime(text, fmt) if fmt else datetime.fromisoformat(text)
        except ValueError:
            expected = f"format {fmt!r}" if fmt else "ISO 8601 (2024-01-31T08:30:00)"
            raise ConversionError(f"not a date and time in {expected}") from None

    def convert(value: Any) -> datetime:
        if isinstance(value, str):
            return parse(value.strip())
        if isinstance(value, datetime):
            return value
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day)
        serial = _excel_serial(value)
        if serial is None:
            raise ConversionError(f"a {type(value).__name__} is not a date and time")
        return serial

    return convert


def date_converter(fmt: str | None) -> Converter:
    @lru_cache(maxsize=PARSED_TEXTS)
    def parse(text: str) -> date:
        try:
            return datetime.strptime(text, fmt).date() if fmt else date.fromisoformat(text)
        except ValueError:
            expected = f"format {fmt!r}" if fmt else "ISO 8601 (2024-01-31)"
            raise ConversionError(f"not a date in {expected}") from None

    def convert(value: Any) -> date:
        if isinstance(value, str):
            return parse(value.strip())
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        serial = _excel_serial(value)
        if serial is None:
            raise ConversionError(f"a {type(value).__name__} is not a date")
        return serial.date()

    return convert


_SIMPLE: dict[str, Converter] = {
    "int": to_int,
    "decimal": to_decimal,
    "float": to_float,
    "bool": to_bool,
}


def converter(spec: ColumnType) -> Converter:
    """The function converting one value to ``spec``; empty cells become None."""
    if spec.type == "str":
        return lambda value: None if value is None else to_str(value)
    if spec.type == "date":
        inner = date_converter(spec.format)
    elif spec.type == "datetime":
        inner = datetime_converter(spec.format)
    else:
        inner = _SIMPLE[spec.type]

    def convert(value: Any) -> Any:
        return None if _empty(value) else inner(value)

    return convert


def jsonable(value: Any) -> Any:
    """``value`` as JSON holds it: decimals as text, times in ISO 8601."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    return str(value)

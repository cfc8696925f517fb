"""Values on their way in (the ``types`` coercions) and out (a JSON-safe step output).

Coercion exists because drivers are strict: asyncpg refuses the text ``"12.50"`` for a
``numeric`` column and ``"2026-03-01"`` for a ``date``, and every value read from a CSV
file is text.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from uuid import UUID

ParamType = Literal["int", "decimal", "float", "date", "datetime", "bool", "str", "json"]

_TRUE = frozenset({"true", "t", "yes", "y", "on", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "off", "0"})


class CoercionError(ValueError):
    """A value does not convert to the declared type. The message never holds the value."""


def _number(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise CoercionError(f"a {type(value).__name__} is not a number")
    try:
        number = Decimal(value.strip() if isinstance(value, str) else str(value))
    except InvalidOperation:
        raise CoercionError("not a number") from None
    if not number.is_finite():
        raise CoercionError("not a finite number")
    return number


def _int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number = _number(value)
    if number != number.to_integral_value():
        raise CoercionError("not a whole number")
    return int(number)


def _float(value: Any) -> float:
    return float(_number(value))


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        if value.time() != time(0):
            raise CoercionError("a date-time with a time of day is not a date")
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise CoercionError("not an ISO 8601 date (YYYY-MM-DD)") from None
    raise CoercionError(f"a {type(value).__name__} is not a date")


def _datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time(0))
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            raise CoercionError("not an ISO 8601 date-time") from None
    raise CoercionError(f"a {type(value).__name__} is not a date-time")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise CoercionError("not a boolean (true/false, yes/no, 1/0)")


def _str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _json(value: Any) -> str:
    # Text is taken as JSON already (a CSV cell, a template's output): checked, not
    # encoded a second time.
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            raise CoercionError("not JSON text") from None
        return value
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        raise CoercionError(f"a {type(value).__name__} cannot be written as JSON") from None


_COERCIONS: dict[str, Callable[[Any], Any]] = {
    "int": _int,
    "decimal": _number,
    "float": _float,
    "date": _date,
    "datetime": _datetime,
    "bool": _bool,
    "str": _str,
    "json": _json,
}


def coerce(value: Any, kind: ParamType) -> Any:
    """``value`` as ``kind``; None stays NULL, and so does empty text for any kind but
    ``str`` (a CSV file has no other way to write NULL).

    :raises CoercionError: the value does not convert.
    """
    if value is None:
        return None
    if kind != "str" and isinstance(value, str) and not value.strip():
        return None
    return _COERCIONS[kind](value)


def coerce_all(values: Mapping[str, Any], types: Mapping[str, ParamType]) -> dict[str, Any]:
    """``values`` with each one named in ``types`` coerced.

    :raises CoercionError: naming the parameter (never its value).
    """
    out = dict(values)
    for name, kind in types.items():
        if name in out:
            try:
                out[name] = coerce(out[name], kind)
            except CoercionError as exc:
                raise CoercionError(f":{name} is not a valid {kind}: {exc}") from None
    return out


def json_safe(value: Any) -> Any:
    """A value read from the database as JSON: Decimal as text (no precision lost),
    dates and times in ISO 8601, bytes in base64, anything else unknown as ``str()``."""
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
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    return str(value)

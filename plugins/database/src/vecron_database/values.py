"""Values on their way in: the ``types`` conversions of parameters and row values.

Conversion exists because drivers are strict: asyncpg refuses the text ``"12.50"`` for a
``numeric`` column and ``"2026-03-01"`` for a ``date``, and every value read from a CSV
file is text. The types are vecron's own (:mod:`vecron.plugin.values`) plus ``json``, which
only a database binds: a JSON column takes JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from vecron import ConversionError, TypeName, convert

ParamType = Literal[TypeName, "json"]


def _json(value: Any) -> str:
    # Text is taken as JSON already (a CSV cell, a template's output): checked, not
    # encoded a second time.
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            raise ConversionError("not JSON text") from None
        return value
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        raise ConversionError(f"a {type(value).__name__} cannot be written as JSON") from None


def coerce(value: Any, kind: ParamType) -> Any:
    """``value`` as ``kind``; None stays NULL, and so does empty text for any kind but
    ``str`` (a CSV file has no other way to write NULL).

    :raises ConversionError: the value does not convert.
    """
    if kind != "json":
        return convert(value, kind)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _json(value)


def coerce_all(values: Mapping[str, Any], types: Mapping[str, ParamType]) -> dict[str, Any]:
    """``values`` with each one named in ``types`` coerced.

    :raises ConversionError: naming the parameter (never its value).
    """
    out = dict(values)
    for name, kind in types.items():
        if name in out:
            try:
                out[name] = coerce(out[name], kind)
            except ConversionError as exc:
                raise ConversionError(f":{name} is not a valid {kind}: {exc}") from None
    return out

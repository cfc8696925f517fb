"""Type conversion of cell values: ``transform.types``.

Values arrive as text (CSV), as Excel's numbers, dates and booleans (XLSX) or as JSON
values (JSONL, inline rows); :mod:`vecron.plugin.values` converts them all. What is the files'
own: a number in a ``date`` or ``datetime`` column is Excel's day number (an XLSX date
cell without a date number format arrives as one).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from openpyxl.utils.datetime import from_excel

from vecron import ConversionError, Converter
from vecron import converter as value_converter

from .config import ColumnType


def excel_serial(value: int | float | Decimal) -> datetime:
    """The moment Excel's day number ``value`` stands for (1 is 1900-01-01)."""
    try:
        moment = from_excel(float(value))
    except (OverflowError, ValueError):
        raise ConversionError("an Excel day number out of range") from None
    if not isinstance(moment, datetime):  # a fraction of one day is a time, not a date
        raise ConversionError("an Excel day number below 1 is not a date")
    return moment


def converter(spec: ColumnType) -> Converter:
    """The function converting one value to ``spec``; empty cells become None."""
    convert = value_converter(spec.type, format=spec.format)
    if spec.type not in ("date", "datetime"):
        return convert
    as_date = spec.type == "date"

    def convert_cell(value: Any) -> Any:
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            moment = excel_serial(value)
            return moment.date() if as_date else moment
        return convert(value)

    return convert_cell

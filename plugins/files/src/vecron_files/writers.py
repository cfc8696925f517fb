"""Writing tables row by row: CSV, XLSX (write-only mode) and JSON lines.

Each writer appends a row to a local file and keeps nothing of it, so memory stays flat
however many rows pass. Cells are exported as a spreadsheet or a database loader reads
them: numbers stay numbers, dates are dates in XLSX and ISO 8601 text elsewhere, and text
a spreadsheet would run as a formula is neutralised unless the job turns that off.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
from abc import ABCMeta, abstractmethod
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.utils.exceptions import IllegalCharacterError

from vecron import FinalError, json_safe, to_str

from .config import OutputFile
from .formulas import neutralise
from .text import UnencodableText, decomposes, encodable


def _where(number: int | None, column: str) -> str:
    row = "header" if number is None else f"row {number}"
    return f"{row}, column {column!r}"


class TableWriter(metaclass=ABCMeta):
    """Writes the tables of one output file, then :meth:`close` finishes the file."""

    def __init__(self, path: Path, spec: OutputFile) -> None:
        self.path = path
        self.spec = spec

    @abstractmethod
    def begin(self, title: str, columns: list[str]) -> None:
        """Start a table (an XLSX sheet); CSV and JSONL files hold one."""

    @abstractmethod
    def write(self, values: list[Any], number: int) -> None:
        """Append one row; ``number`` names the source row in error messages."""

    @abstractmethod
    def close(self) -> None:
        """Finish the file (called once, after the last row, only on success)."""

    def discard(self) -> None:  # noqa: B027 - nothing to release by default
        """Release what a failed or cancelled run left open."""


class _TextFileWriter(TableWriter):
    """A file holding one table (CSV, JSON lines), opened by :meth:`begin`."""

    def __init__(self, path: Path, spec: OutputFile) -> None:
        super().__init__(path, spec)
        self.file: TextIO | None = None

    def close(self) -> None:
        if self.file is None:
            self.begin(self.spec.sheet_name, [])
        assert self.file is not None
        self.file.close()

    def discard(self) -> None:
        if self.file is not None:
            self.file.close()


# -- CSV ----------------------------------------------------------------------------------


def _iso(value: date | time) -> str:
    return value.isoformat()


#: How each type of value becomes CSV text, looked up by exact type (the hot path).
_CSV_TEXT: dict[type, Callable[[Any], str]] = {
    str: str,
    int: str,
    Decimal: str,
    float: repr,
    bool: lambda value: "true" if value else "false",
    type(None): lambda value: "",
    date: _iso,
    datetime: _iso,
    time: _iso,
    dict: to_str,
    list: to_str,
}


def csv_text(value: Any) -> str:
    """A cell's text in a CSV file."""
    text = _CSV_TEXT.get(type(value))
    if text is not None:
        return text(value)
    for kind, text in _CSV_TEXT.items():
        if isinstance(value, kind):
            return text(value)
    return str(value)


class CsvWriter(_TextFileWriter):
    def __init__(self, path: Path, spec: OutputFile) -> None:
        super().__init__(path, spec)
        self.columns: list[str] = []
        self.decompose = decomposes(spec.encoding)

    def begin(self, title: str, columns: list[str]) -> None:
        if self.file is not None:
            raise FinalError("a CSV file holds one table: set input.sheet")
        # newline="": the csv module writes its own line ends (\r\n, RFC 4180).
        self.file = open(self.path, "w", encoding=self.spec.encoding, newline="")  # noqa: SIM115
        self.writer = csv.writer(
            self.file, delimiter=self.spec.delimiter, quotechar=self.spec.quotechar
        )
        self.columns = columns
        if columns:  # no columns (an empty JSONL input): an empty file, not a blank line
            self._write(columns, None)

    def write(self, values: list[Any], number: int) -> None:
        self._write(values, number)

    def _write(self, values: list[Any], number: int | None) -> None:
        if self.spec.neutralise_formulas:
            # Only text is neutralised: numbers and dates never start a formula.
            cells = [
                neutralise(value) if type(value) is str else csv_text(value) for value in values
            ]
        else:
            cells = [csv_text(value) for value in values]
        try:
            self.writer.writerow(cells)
        except UnicodeEncodeError:
            # The writer hands the encoder one whole line: nothing of it was written.
            self.writer.writerow(self._encodable(cells, number))

    def _encodable(self, cells: list[str], number: int | None) -> list[str]:
        fixed: list[str] = []
        for column, cell in zip(self.columns, cells, strict=True):
            try:
                if self.decompose:
                    fixed.append(encodable(cell, self.spec.encoding))
                else:
                    cell.encode(self.spec.encoding)
                    fixed.append(cell)
            except UnencodableText as error:
                raise FinalError(f"{_where(number, column)}: {error}") from None
            except UnicodeEncodeError as error:
                char = cell[error.start]
                raise FinalError(
                    f"{_where(number, column)}: {UnencodableText(char, self.spec.encoding)}"
                ) from None
        return fixed


# -- XLSX ---------------------------------------------------------------------------------

#: Longest text an XLSX cell holds.
MAX_CELL_TEXT = 32_767


class _TooLong(Exception):
    """A text is longer than an XLSX cell holds."""


class XlsxWriter(TableWriter):
    def __init__(self, path: Path, spec: OutputFile) -> None:
        super().__init__(path, spec)
        self.workbook = Workbook(write_only=True)
        self.columns: list[str] = []
        self.sheet: Any = None

    def begin(self, title: str, columns: list[str]) -> None:
        self.sheet = self.workbook.create_sheet(title)
        self.columns = columns
        try:
            header = [self._text(column) for column in columns]
        except _TooLong:
            self._name_long_text(list(columns), None)
            raise
        if header:
            self._append(header, None)

    def _text(self, text: str) -> Any:
        if len(text) > MAX_CELL_TEXT:
            # openpyxl would cut it silently.
            raise _TooLong
        if self.spec.neutralise_formulas:
            return neutralise(text)
        if text.startswith("="):
            # openpyxl writes text starting with = as a formula; this is data.
            cell = WriteOnlyCell(self.sheet, text)
            cell.data_type = "s"
            return cell
        return text

    def _cell(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._text(value)
        if isinstance(value, datetime | time) and value.tzinfo is not None:
            # Excel has no time zones: the wall-clock time is kept, the offset dropped.
            return value.replace(tzinfo=None)
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if value is None or isinstance(value, int | float | Decimal | date | time | timedelta):
            return value
        if isinstance(value, dict | list):
            return self._text(to_str(value))
        return self._text(str(value))

    def write(self, values: list[Any], number: int) -> None:
        try:
            cells = [self._cell(value) for value in values]
        except _TooLong:
            self._name_long_text(values, number)
            raise
        self._append(cells, number)

    def _name_long_text(self, values: list[Any], number: int | None) -> None:
        for column, value in zip(self.columns, values, strict=True):
            if isinstance(value, str | dict | list) and len(str(value)) > MAX_CELL_TEXT:
                raise FinalError(
                    f"{_where(number, column)}: text of {len(str(value))} characters; an XLSX "
                    f"cell holds at most {MAX_CELL_TEXT}"
                ) from None

    def _append(self, cells: list[Any], number: int | None) -> None:
        try:
            self.sheet.append(cells)
        except (IllegalCharacterError, ValueError):
            self._name_the_cell(cells, number)
            raise

    def _name_the_cell(self, cells: list[Any], number: int | None) -> None:
        for column, cell in zip(self.columns, cells, strict=True):
            text = cell.value if isinstance(cell, Cell) else cell
            if isinstance(text, str) and ILLEGAL_CHARACTERS_RE.search(text):
                raise FinalError(
                    f"{_where(number, column)}: text holds a control character that XLSX "
                    "cannot store"
                ) from None

    def close(self) -> None:
        if self.sheet is None:
            self.begin(self.spec.sheet_name, [])
        self.workbook.save(self.path)

    def discard(self) -> None:
        # A write-only sheet streams into a temporary file of openpyxl's own, closed and
        # removed only by save(): close each here, or it lingers until the process exits
        # (and its half-written XML is flushed to a closed file when collected).
        for sheet in self.workbook.worksheets:
            rows, writer = getattr(sheet, "_rows", None), getattr(sheet, "_writer", None)
            for release in (
                getattr(rows, "close", None),
                getattr(writer, "close", None),
                getattr(writer, "cleanup", None),
            ):
                if release is not None:
                    with contextlib.suppress(Exception):
                        release()


# -- JSON lines ---------------------------------------------------------------------------

#: Decimals as text (a float could change them), times in ISO 8601.
_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False, default=json_safe)


class JsonlWriter(_TextFileWriter):
    def __init__(self, path: Path, spec: OutputFile) -> None:
        super().__init__(path, spec)
        self.columns: list[str] = []

    def begin(self, title: str, columns: list[str]) -> None:
        if self.file is not None:
            raise FinalError("a JSON lines file holds one table: set input.sheet")
        self.file = open(self.path, "w", encoding="utf-8")  # noqa: SIM115
        self.columns = columns

    def write(self, values: list[Any], number: int) -> None:
        assert self.file is not None
        row = dict(zip(self.columns, values, strict=True))
        try:
            line = _JSON.encode(row)
        except ValueError as error:  # NaN or infinity: JSON has no such numbers
            raise FinalError(f"row {number}: {error}") from None
        self.file.write(line + "\n")


def open_writer(path: Path, spec: OutputFile) -> TableWriter:
    kinds: dict[str, type[TableWriter]] = {
        "csv": CsvWriter,
        "xlsx": XlsxWriter,
        "jsonl": JsonlWriter,
    }
    fmt = spec.resolved_format
    if fmt is None:
        raise FinalError(f"output.format: cannot tell the format of {spec.name!r}; set it")
    return kinds[fmt](path, spec)

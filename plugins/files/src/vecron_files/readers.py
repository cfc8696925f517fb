"""Reading tables row by row: CSV, XLSX (every sheet or one), JSON lines and inline rows.

Every reader streams: a row is read, handed on and forgotten, so memory does not grow
with the file. A table's rows come as ``(row number, values)`` with one value per column;
the row number is the one a person finds in the file (a CSV record or XLSX row counted
from 1, header included; a JSONL line; a position in the inline list).
"""

from __future__ import annotations

import csv
import json
import threading
import zipfile
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from vecron import FinalError, to_str

from .config import InputFile
from .safety import check_workbook
from .text import decomposes, nfc

#: Rows between two looks at the cancel flag.
CHECK_EVERY = 1000


class Stopped(Exception):
    """The step was cancelled; the reading thread stops here."""


def check(cancel: threading.Event) -> None:
    if cancel.is_set():
        raise Stopped


@dataclass(slots=True)
class Table:
    """One table: its column names and an iterator over its rows."""

    columns: list[str]
    rows: Iterator[tuple[int, list[Any]]]
    #: The sheet's title, for XLSX inputs.
    title: str | None = None
    #: Rows are JSON objects, where an absent key means null: a column named in the
    #: transform but absent from every row is a column of nulls, not a mistake.
    keyed: bool = False


@dataclass(slots=True)
class Source:
    """What an input holds: its tables, and for a workbook every sheet's title."""

    tables: Iterator[Table]
    sheet_names: list[str] | None = None


def _empty(value: Any) -> bool:
    return value is None or value == ""


def _has_value(values: Sequence[Any]) -> bool:
    # any() settles most rows at C speed; only rows of falsy values (0, False) look closer.
    return any(values) or any(not _empty(value) for value in values)


def header_names(cells: Sequence[Any]) -> list[str]:
    """Column names from a header row: blanks trimmed, unnamed columns ``column_N``,
    repeated names ``name_2``, ``name_3``… (a JSON row cannot hold one name twice)."""
    cells = list(cells)
    while cells and _empty(cells[-1]):
        cells.pop()
    names: list[str] = []
    seen: set[str] = set()
    for position, cell in enumerate(cells, start=1):
        name = ("" if cell is None else to_str(cell)).strip() or f"column_{position}"
        candidate, suffix = name, 2
        while candidate in seen:
            candidate, suffix = f"{name}_{suffix}", suffix + 1
        seen.add(candidate)
        names.append(candidate)
    return names


def numbered_names(width: int) -> list[str]:
    return [f"column_{position}" for position in range(1, width + 1)]


def fit(values: Sequence[Any], width: int, number: int) -> list[Any]:
    """``values`` as exactly ``width`` values: short rows padded with None.

    :raises FinalError: the row has a value beyond the last column.
    """
    if len(values) == width:
        return list(values)
    if len(values) < width:
        return [*values, *([None] * (width - len(values)))]
    for position in range(width, len(values)):
        if not _empty(values[position]):
            raise FinalError(
                f"row {number} has a value in column {position + 1} but the header names "
                f"{width} columns (check input.header_row)"
            )
    return list(values[:width])


def _normalised(values: Sequence[Any]) -> list[Any]:
    return [nfc(value) if isinstance(value, str) else value for value in values]


def _table(records: Iterator[tuple[int, Sequence[Any]]], header_row: int, normalise: bool) -> Table:
    """Header and rows from ``(number, values)`` records, blank records skipped."""
    records = ((n, v) for n, v in records if n >= header_row and _has_value(v))
    if normalise:
        records = ((n, _normalised(v)) for n, v in records)
    first = next(records, None)
    if first is None:
        return Table([], iter(()))
    if header_row > 0:
        columns = header_names(first[1])
        pending: list[tuple[int, Sequence[Any]]] = []
    else:
        columns = numbered_names(len(first[1]))
        pending = [first]

    def rows() -> Iterator[tuple[int, list[Any]]]:
        for number, values in pending:
            yield number, fit(values, len(columns), number)
        for number, values in records:
            yield number, fit(values, len(columns), number)

    return Table(columns, rows())


# -- CSV ----------------------------------------------------------------------------------


def _csv_records(path: Path, spec: InputFile) -> Generator[tuple[int, list[str]], None, None]:
    with open(path, encoding=spec.encoding, newline="") as file:
        reader = csv.reader(file, delimiter=spec.delimiter, quotechar=spec.quotechar)
        number = 0
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as error:
                raise FinalError(
                    f"input.file {spec.file!r} is not valid {spec.encoding} text at row "
                    f"{number + 1}: {error.reason} (set input.encoding)"
                ) from None
            except csv.Error as error:
                raise FinalError(f"input.file {spec.file!r}, row {number + 1}: {error}") from None
            number += 1
            yield number, record


@contextmanager
def csv_source(path: Path, spec: InputFile) -> Iterator[Source]:
    records = _csv_records(path, spec)
    try:
        yield Source(iter([_table(records, spec.header_row, _normalise(spec))]))
    finally:
        records.close()


def _normalise(spec: InputFile) -> bool:
    if spec.normalize_nfc is not None:
        return spec.normalize_nfc
    return decomposes(spec.encoding)


# -- XLSX ---------------------------------------------------------------------------------

#: What openpyxl raises on a broken workbook (defusedxml's refusals are ValueErrors).
_BROKEN = (InvalidFileException, zipfile.BadZipFile, ParseError, KeyError, ValueError, EOFError)


def _sheet_records(sheet: Any, first_row: int, where: str) -> Iterator[tuple[int, Sequence[Any]]]:
    # Read-only sheets trust the size the file declares; a wrong one would cut rows off.
    sheet.reset_dimensions()
    try:
        yield from enumerate(sheet.iter_rows(min_row=first_row, values_only=True), first_row)
    except _BROKEN as error:
        raise FinalError(f"{where} cannot be read: {error}") from None


@contextmanager
def xlsx_source(path: Path, spec: InputFile) -> Iterator[Source]:
    check_workbook(
        path,
        spec.file,
        max_uncompressed_bytes=spec.max_uncompressed_bytes,
        max_compression_ratio=spec.max_compression_ratio,
        max_members=spec.max_zip_members,
    )
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except _BROKEN as error:
        raise FinalError(f"input.file {spec.file!r} cannot be read as XLSX: {error}") from None
    try:
        sheets = workbook.worksheets
        names = [sheet.title for sheet in sheets]
        chosen = sheets if spec.sheet is None else [sheets[_sheet_index(spec, names)]]

        def tables() -> Iterator[Table]:
            for sheet in chosen:
                where = f"sheet {sheet.title!r} of input.file {spec.file!r}"
                records = _sheet_records(sheet, max(spec.header_row, 1), where)
                table = _table(records, spec.header_row, bool(spec.normalize_nfc))
                table.title = sheet.title
                yield table

        yield Source(tables(), sheet_names=names)
    finally:
        workbook.close()


def _sheet_index(spec: InputFile, names: list[str]) -> int:
    sheet = spec.sheet
    if isinstance(sheet, str):
        if sheet in names:
            return names.index(sheet)
        raise FinalError(f"input.sheet {sheet!r} is not in {spec.file!r} (sheets: {names})")
    assert sheet is not None
    if 0 <= sheet < len(names):
        return sheet
    raise FinalError(
        f"input.sheet {sheet} is out of range: {spec.file!r} has {len(names)} sheets "
        f"(0 to {len(names) - 1}): {names}"
    )


# -- JSON lines and inline rows -----------------------------------------------------------


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _json_lines(
    path: Path, spec: InputFile, cancel: threading.Event
) -> Iterator[tuple[int, dict[str, Any]]]:
    with open(path, encoding=spec.encoding) as file:
        number = 0
        while True:
            try:
                line = file.readline()
            except UnicodeDecodeError as error:
                raise FinalError(
                    f"input.file {spec.file!r} is not valid {spec.encoding} text at line "
                    f"{number + 1}: {error.reason} (set input.encoding)"
                ) from None
            if not line:
                return
            number += 1
            if number % CHECK_EVERY == 0:
                check(cancel)
            if not line.strip():
                continue
            try:
                value = json.loads(line, parse_constant=_no_constant)
            except ValueError as error:
                raise FinalError(f"input.file {spec.file!r}, line {number}: {error}") from None
            if not isinstance(value, dict):
                raise FinalError(
                    f"input.file {spec.file!r}, line {number}: a JSON object is expected, "
                    f"not {type(value).__name__}"
                )
            yield number, value


def union_of_keys(rows: Iterator[Mapping[str, Any]]) -> list[str]:
    """Every key of every row, in order of first appearance."""
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(row))
    return list(keys)


def _aligned(
    rows: Iterator[tuple[int, Mapping[str, Any]]], columns: list[str], normalise: bool
) -> Iterator[tuple[int, list[Any]]]:
    for number, row in rows:
        if normalise:
            row = {nfc(key): value for key, value in row.items()}
            yield number, _normalised([row.get(column) for column in columns])
        else:
            yield number, [row.get(column) for column in columns]


@contextmanager
def jsonl_source(path: Path, spec: InputFile, cancel: threading.Event) -> Iterator[Source]:
    # A JSON line may bring a key no earlier line had: a first pass finds every column,
    # so the output's header is complete before its first row is written.
    normalise = bool(spec.normalize_nfc)
    columns = union_of_keys(row for _, row in _json_lines(path, spec, cancel))
    if normalise:
        columns = list(dict.fromkeys(nfc(column) for column in columns))
    rows = _aligned(_json_lines(path, spec, cancel), columns, normalise)
    yield Source(iter([Table(columns, rows, keyed=True)]))


@contextmanager
def inline_source(rows: list[dict[str, Any]]) -> Iterator[Source]:
    columns = union_of_keys(iter(rows))
    numbered = ((number, row) for number, row in enumerate(rows, start=1))
    yield Source(iter([Table(columns, _aligned(numbered, columns, False), keyed=True)]))

"""One conversion, run in a worker thread: read each table, transform each row, write it.

Rows flow one at a time from reader to writer; only the first ``max_rows_in_output`` of
each table are kept, for the step's output. The thread cannot be cancelled from outside,
so it looks at a flag every :data:`~.readers.CHECK_EVERY` rows and stops when it is set.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vecron import ConversionError, Converter, FinalError, excerpt, json_safe

from .coercion import converter
from .config import FilesConfig, Transform
from .readers import (
    CHECK_EVERY,
    Source,
    Table,
    check,
    csv_source,
    inline_source,
    jsonl_source,
    xlsx_source,
)
from .rowfilter import RowFilter
from .writers import TableWriter, open_writer

#: Characters of a value quoted in a conversion error.
SHOWN = 50


@dataclass(slots=True)
class TableSummary:
    """What one table gave: its columns, its row count and its first rows as JSON."""

    title: str | None
    columns: list[str]
    limit: int
    row_count: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, columns: list[str], values: list[Any]) -> None:
        self.row_count += 1
        if len(self.rows) < self.limit:
            self.rows.append(
                {column: json_safe(value) for column, value in zip(columns, values, strict=True)}
            )

    def as_output(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "row_count": self.row_count,
            "columns": self.columns,
            "truncated": self.row_count > len(self.rows),
        }


@dataclass(slots=True)
class Summary:
    tables: list[TableSummary]
    sheet_names: list[str] | None

    @property
    def row_count(self) -> int:
        return sum(table.row_count for table in self.tables)


@dataclass(frozen=True, slots=True)
class Conversion:
    """Everything the thread needs; built by the executor on the event loop."""

    config: FilesConfig
    source: Path | None
    target: Path | None
    row_filter: RowFilter | None
    cancel: threading.Event
    #: Masked out of a value quoted in an error before it is cut to :data:`SHOWN`.
    secrets: frozenset[str] = frozenset()


@contextmanager
def open_source(job: Conversion) -> Iterator[Source]:
    spec = job.config.input
    if spec is None:
        with inline_source(job.config.rows or []) as source:
            yield source
        return
    assert job.source is not None
    fmt = spec.resolved_format
    if fmt == "csv":
        with csv_source(job.source, spec) as source:
            yield source
    elif fmt == "xlsx":
        with xlsx_source(job.source, spec) as source:
            yield source
    elif fmt == "jsonl":
        with jsonl_source(job.source, spec, job.cancel) as source:
            yield source
    else:
        raise FinalError(f"input.format: cannot tell the format of {spec.file!r}; set it")


def run_conversion(job: Conversion) -> Summary:
    """Convert; the output file (if any) is complete at ``job.target`` on return.

    :raises FinalError: bad input, a value that cannot be converted, a failing filter.
    :raises Stopped: ``job.cancel`` was set.
    """
    writer: TableWriter | None = None
    with ExitStack() as stack:
        source = stack.enter_context(open_source(job))
        if job.config.output is not None and job.target is not None:
            writer = open_writer(job.target, job.config.output)
        try:
            tables = [_convert_table(job, table, writer) for table in source.tables]
            if writer is not None:
                writer.close()
        except BaseException:
            if writer is not None:
                writer.discard()
            raise
    return Summary(tables, source.sheet_names)


def _sheet_prefix(job: Conversion, table: Table) -> str:
    return f"sheet {table.title!r}: " if job.config.all_sheets else ""


def _convert_table(job: Conversion, table: Table, writer: TableWriter | None) -> TableSummary:
    try:
        return _rows(job, table, writer)
    except FinalError as error:
        prefix = _sheet_prefix(job, table)
        if not prefix:
            raise
        raise FinalError(prefix + error.message) from None


def _rows(job: Conversion, table: Table, writer: TableWriter | None) -> TableSummary:
    transform = job.config.transform
    picks, columns = _columns(table, transform)
    converters = _converters(table, columns, transform)
    summary = TableSummary(table.title, columns, job.config.max_rows_in_output)
    if writer is not None:
        output = job.config.output
        assert output is not None
        title = table.title if job.config.all_sheets and table.title else output.sheet_name
        writer.begin(title, columns)
    row_filter = job.row_filter
    for count, (number, values) in enumerate(table.rows):
        if count % CHECK_EVERY == 0:
            check(job.cancel)
        if picks is None:
            record = values
        else:
            values.append(None)  # what a pick of an absent column reads
            record = [values[index] for index in picks]
        for position, convert in converters:
            try:
                record[position] = convert(record[position])
            except ConversionError as error:
                shown = excerpt(str(record[position]), job.secrets, SHOWN)
                kind = transform.types[columns[position]].type
                raise FinalError(
                    f"row {number}, column {columns[position]!r}: cannot convert {shown!r} "
                    f"to {kind}: {error}"
                ) from None
        if row_filter is not None:
            row = dict(zip(columns, record, strict=True))
            if not row_filter.keeps(row, number):
                continue
        if writer is not None:
            writer.write(record, number)
        summary.add(columns, record)
    return summary


def _columns(table: Table, transform: Transform) -> tuple[list[int] | None, list[str]]:
    """Which source values to keep (None: all, as they are) and the output's column names.

    A position past the source's columns picks a null (a keyed table's absent column).
    """
    available = table.columns
    if transform.columns is None:
        return None, available
    positions = {name: index for index, name in enumerate(available)}
    missing = [name for name in transform.columns if name not in positions]
    if missing and not table.keyed:
        raise FinalError(
            f"transform.columns: {missing} not found; the input's columns are {available}"
        )
    absent = len(available)
    picks = [positions.get(name, absent) for name in transform.columns]
    return picks, list(transform.columns.values())


def _converters(
    table: Table, columns: list[str], transform: Transform
) -> list[tuple[int, Converter]]:
    unknown = [name for name in transform.types if name not in columns]
    if unknown and not table.keyed:
        raise FinalError(
            f"transform.types: {unknown} not among the output's columns {columns} "
            "(types are keyed by the target name)"
        )
    return [
        (columns.index(name), converter(spec))
        for name, spec in transform.types.items()
        if name in columns
    ]

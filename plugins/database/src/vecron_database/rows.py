"""Rows for a batched statement: given inline, or streamed from a file of the execution.

A file is read in the storage's chunks and parsed a chunk at a time, so memory holds one
chunk and one batch, whatever the file's size. JSON lines: one object per line. CSV: a
header line, then one record per line (a quoted field may span lines), UTF-8 with or
without a byte-order mark.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
import json
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from vecron import ExecutionFiles, FinalError, NotFoundError, ValidationError

BATCH_SIZE = 1000
#: A line (JSON) or record (CSV) longer than this is refused: it would have to be held
#: whole, and a CSV file with an unclosed quote would otherwise be read into memory.
MAX_RECORD = 16 * 1024 * 1024

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Batch:
    """Rows ``first`` to ``first + len(rows) - 1`` (1-based) of the input."""

    first: int
    rows: list[Row]

    @property
    def label(self) -> str:
        last = self.first + len(self.rows) - 1
        return f"row {self.first}" if last == self.first else f"rows {self.first}-{last}"


async def batches_of(rows: Sequence[Row], size: int = BATCH_SIZE) -> AsyncGenerator[Batch, None]:
    for start in range(0, len(rows), size):
        yield Batch(start + 1, list(rows[start : start + size]))


async def batches_from_file(
    files: ExecutionFiles | None, name: str, size: int = BATCH_SIZE
) -> AsyncGenerator[Batch, None]:
    """The rows of file ``name`` of the execution, ``size`` at a time.

    :raises FinalError: no storage, no such file, not UTF-8, or a malformed line.
    """
    if files is None:
        raise FinalError("rows_from: this worker has no file storage configured")
    parser: Parser = CsvParser(name) if name.lower().endswith(".csv") else JsonLinesParser(name)
    try:
        chunks = files.read(name)
    except ValidationError as exc:
        raise FinalError(f"rows_from: {exc.message}") from None
    pending: list[Row] = []
    number = 1
    async with aclosing(_text(chunks, name)) as texts:
        async for piece in texts:
            # Parsing a MiB of CSV is CPU work: off the event loop.
            pending.extend(await asyncio.to_thread(parser.feed, piece))
            while len(pending) >= size:
                yield Batch(number, pending[:size])
                del pending[:size]
                number += size
    pending.extend(parser.finish())
    while pending:
        yield Batch(number, pending[:size])
        del pending[:size]
        number += size


async def _text(chunks: AsyncGenerator[bytes, None], name: str) -> AsyncGenerator[str, None]:
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    async with aclosing(chunks):
        try:
            async for chunk in chunks:
                yield decoder.decode(chunk)
            yield decoder.decode(b"", final=True)
        except NotFoundError:
            raise FinalError(f"rows_from: no file {name!r} among this execution's files") from None
        except UnicodeDecodeError:
            raise FinalError(f"rows_from: {name!r} is not UTF-8 text") from None


@dataclass
class Parser:
    """Turns text, fed in pieces cut anywhere, into rows."""

    name: str
    #: Text read but not parsed yet: the start of an unfinished line or record.
    pending: str = ""
    #: 1-based number of the next line (JSON) or record (CSV), for messages.
    number: int = 1

    def feed(self, text: str) -> list[Row]:
        """The rows completed by ``text``; the rest waits for the next piece."""
        raise NotImplementedError

    def finish(self) -> list[Row]:
        """The last rows, at the end of the text."""
        raise NotImplementedError

    def _check_size(self) -> None:
        if len(self.pending) > MAX_RECORD:
            raise FinalError(
                f"rows_from: {self.name!r} from line/record {self.number} on holds more than "
                f"{MAX_RECORD // (1024 * 1024)} MiB without an end"
            )


@dataclass
class JsonLinesParser(Parser):
    def feed(self, text: str) -> list[Row]:
        complete, newline, self.pending = (self.pending + text).rpartition("\n")
        self._check_size()
        return self._parse(complete.split("\n")) if newline else []

    def finish(self) -> list[Row]:
        rest, self.pending = self.pending, ""
        return self._parse([rest])

    def _parse(self, lines: list[str]) -> list[Row]:
        rows: list[Row] = []
        for line in lines:
            number, self.number = self.number, self.number + 1
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError:
                raise FinalError(
                    f"rows_from: {self.name!r} line {number} is not valid JSON"
                ) from None
            if not isinstance(value, dict):
                raise FinalError(f"rows_from: {self.name!r} line {number} is not a JSON object")
            rows.append(value)
        return rows


@dataclass
class CsvParser(Parser):
    header: list[str] | None = None

    def feed(self, text: str) -> list[Row]:
        # A newline ends a record only outside quotes. With standard CSV quoting (a quote
        # inside a field is written "") that is where the count of quotes so far is even.
        # ``pending`` always starts at a record's start.
        lines = (self.pending + text).split("\n")
        self.pending = lines.pop()
        end = 0
        quoted = False
        for index, line in enumerate(lines):
            if line.count('"') % 2:
                quoted = not quoted
            if not quoted:
                end = index + 1
        if end < len(lines):
            self.pending = "\n".join([*lines[end:], self.pending])
        self._check_size()
        return self._parse("\n".join(lines[:end]) + "\n") if end else []

    def finish(self) -> list[Row]:
        rest, self.pending = self.pending, ""
        return self._parse(rest) if rest.strip() else []

    def _parse(self, text: str) -> list[Row]:
        rows: list[Row] = []
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        while True:
            number = self.number
            try:
                record = next(reader, None)
            except csv.Error as exc:
                raise FinalError(f"rows_from: {self.name!r} record {number}: {exc}") from None
            if record is None:
                return rows
            self.number += 1
            if not record:
                continue
            if self.header is None:
                self.header = _header(self.name, record)
                continue
            if len(record) != len(self.header):
                raise FinalError(
                    f"rows_from: {self.name!r} record {number} has {len(record)} fields, "
                    f"the header {len(self.header)}"
                )
            rows.append(dict(zip(self.header, record, strict=True)))


def _header(name: str, record: list[str]) -> list[str]:
    header = [column.strip() for column in record]
    seen: set[str] = set()
    for column in header:
        if not column or column in seen:
            problem = "an empty column name" if not column else f"column {column!r} twice"
            raise FinalError(f"rows_from: {name!r} header has {problem}")
        seen.add(column)
    return header

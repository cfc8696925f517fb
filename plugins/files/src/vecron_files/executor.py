"""The ``files`` executor: a table in, rows transformed, a file out (S4.3)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from pathlib import Path
from typing import Any, BinaryIO

from vecron import (
    CHUNK_SIZE,
    ExecutionFiles,
    Executor,
    FinalError,
    NotFoundError,
    StepContext,
    StoredFile,
    ValidationError,
)

from .config import FilesConfig, OutputFile
from .conversion import Conversion, Summary, TableSummary, run_conversion
from .rowfilter import RowFilter

CONTENT_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "jsonl": "application/jsonl",
}


class FilesExecutor(Executor[FilesConfig]):
    """Reads a CSV, XLSX or JSONL file from the execution's files (or inline rows), maps,
    converts and filters its rows, and writes them to a CSV, XLSX or JSONL file.

    Files are streamed: the input is copied to a local temporary file, converted row by
    row in a thread into another, and that is streamed into storage, so memory does not
    grow with the file (disk use does: about the input's size plus the output's).

    Errors: everything about the input, the config or a value is a :class:`FinalError`
    (the same file fails the same way again); storage failures are retried.
    """

    kind = "files"
    Config = FilesConfig

    def __init__(self, *, temp_dir: str | Path | None = None) -> None:
        #: Where the local copies go (None: the system's temporary folder).
        self.temp_dir = temp_dir

    async def run(self, ctx: StepContext, config: FilesConfig) -> Mapping[str, Any]:
        files = ctx.files
        if files is None and (config.input is not None or config.output is not None):
            raise FinalError("the files step needs object storage, and none is configured")
        if config.input is not None:
            _check_name(files, config.input.file, "input.file")
        if config.output is not None:
            _check_name(files, config.output.name, "output.name")
        text = config.transform.filter
        row_filter = RowFilter(text, ctx.step_id) if text is not None else None
        cancel = threading.Event()
        workdir = Path(
            await asyncio.to_thread(tempfile.mkdtemp, prefix="vecron-files-", dir=self.temp_dir)
        )
        try:
            source = None
            if config.input is not None:
                assert files is not None
                # openpyxl judges a workbook by its file name's extension.
                source = workdir / f"input.{config.input.resolved_format}"
                await _download(files, config.input.file, source)
            target = workdir / "output" if config.output is not None else None
            job = Conversion(config, source, target, row_filter, cancel, ctx.secrets)
            summary = await asyncio.to_thread(run_conversion, job)
            stored = None
            if config.output is not None and target is not None:
                assert files is not None
                stored = await _upload(files, config.output, target)
            return _output(config, summary, stored)
        finally:
            # On cancellation the thread may still be converting: the flag stops it within
            # a few rows, and its open files outlive their removed folder until then.
            cancel.set()
            shutil.rmtree(workdir, ignore_errors=True)


def _check_name(files: ExecutionFiles | None, name: str, field: str) -> None:
    assert files is not None
    try:
        files.key(name)
    except ValidationError as error:
        raise FinalError(f"{field}: {error.message}") from None


async def _download(files: ExecutionFiles, name: str, path: Path) -> None:
    file: BinaryIO = await asyncio.to_thread(open, path, "wb")
    try:
        async with aclosing(files.read(name)) as chunks:
            async for chunk in chunks:
                await asyncio.to_thread(file.write, chunk)
    except NotFoundError:
        raise FinalError(f"file {name!r} not found in this execution's files") from None
    finally:
        file.close()


async def _chunks(path: Path) -> AsyncGenerator[bytes, None]:
    file: BinaryIO = await asyncio.to_thread(open, path, "rb")
    try:
        while chunk := await asyncio.to_thread(file.read, CHUNK_SIZE):
            yield chunk
    finally:
        file.close()


async def _upload(files: ExecutionFiles, spec: OutputFile, path: Path) -> StoredFile:
    size = (await asyncio.to_thread(path.stat)).st_size
    content_type = CONTENT_TYPES[spec.resolved_format or "csv"]
    async with aclosing(_chunks(path)) as chunks:
        return await files.write(spec.name, chunks, size, content_type=content_type)


def _output(config: FilesConfig, summary: Summary, stored: StoredFile | None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "file": None if stored is None else stored.as_output(rows=summary.row_count),
        "row_count": summary.row_count,
    }
    if config.all_sheets:
        result["sheets"] = {table.title: table.as_output() for table in summary.tables}
    else:
        table = summary.tables[0] if summary.tables else TableSummary(None, [], 0)
        result.update(table.as_output())
        if summary.sheet_names is not None:
            result["sheet"] = table.title
    if summary.sheet_names is not None:
        result["sheet_names"] = summary.sheet_names
    return result

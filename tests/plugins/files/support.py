"""Helpers for the ``files`` executor tests: real storage, real files, no mocks."""

from __future__ import annotations

import asyncio
import csv
import io
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook

from vecron.plugin.executor import StepContext
from vecron.storage.file import FileStorage
from vecron.testing.step_contexts import make_step_context
from vecron_files import FilesConfig, FilesExecutor

VIETNAMESE = "Nguyễn Văn Ánh, Đà Nẵng, phở"


@dataclass
class Harness:
    """A started FileStorage, one execution's step context and the executor."""

    storage: FileStorage
    ctx: StepContext
    executor: FilesExecutor

    async def put(self, name: str, data: bytes) -> None:
        assert self.ctx.files is not None
        await self.ctx.files.write_bytes(name, data)

    async def get(self, name: str) -> bytes:
        assert self.ctx.files is not None
        return await self.ctx.files.read_bytes(name)

    async def run(self, config: Mapping[str, Any]) -> dict[str, Any]:
        result = await self.executor.run(self.ctx, FilesConfig.model_validate(config))
        return dict(result)


async def open_harness(root: Path) -> Harness:
    storage = FileStorage((root / "storage").as_uri())
    await storage.start()
    work = root / "work"
    work.mkdir(exist_ok=True)
    return Harness(storage, make_step_context(storage), FilesExecutor(temp_dir=work))


def run_steps(inputs: Mapping[str, bytes], configs: Sequence[Mapping[str, Any]]) -> Any:
    """Run ``configs`` one after another in a fresh execution (for sync hypothesis tests).

    Returns (outputs, read) where ``read(name)`` gives a stored file's bytes.
    """

    async def go() -> tuple[list[dict[str, Any]], dict[str, bytes]]:
        with tempfile.TemporaryDirectory() as folder:
            harness = await open_harness(Path(folder))
            try:
                for name, data in inputs.items():
                    await harness.put(name, data)
                outputs = [await harness.run(config) for config in configs]
                stored = {}
                for output in outputs:
                    if output["file"] is not None:
                        name = output["file"]["name"]
                        stored[name] = await harness.get(name)
                return outputs, stored
            finally:
                await harness.storage.close()

    return asyncio.run(go())


def csv_bytes(
    rows: Sequence[Sequence[Any]],
    *,
    delimiter: str = ",",
    quotechar: str = '"',
    encoding: str = "utf-8",
) -> bytes:
    text = io.StringIO(newline="")
    csv.writer(text, delimiter=delimiter, quotechar=quotechar).writerows(rows)
    return text.getvalue().encode(encoding)


def csv_rows(
    data: bytes, *, delimiter: str = ",", quotechar: str = '"', encoding: str = "utf-8"
) -> list[list[str]]:
    text = io.StringIO(data.decode(encoding), newline="")
    return list(csv.reader(text, delimiter=delimiter, quotechar=quotechar))


def xlsx_bytes(sheets: Mapping[str, Sequence[Sequence[Any]]]) -> bytes:
    """A workbook written by openpyxl in its normal mode (as any other program would)."""
    workbook = Workbook()
    first = True
    for title, rows in sheets.items():
        if first:
            sheet = workbook.active
            assert sheet is not None
            sheet.title = title
            first = False
        else:
            sheet = workbook.create_sheet(title)
        for number, row in enumerate(rows, start=1):
            for column, value in enumerate(row, start=1):
                if value is None:
                    continue
                cell = sheet.cell(number, column, value)
                if isinstance(value, str) and value.startswith("="):
                    cell.data_type = "s"  # text, not a formula
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsx_values(data: bytes) -> dict[str, list[tuple[Any, ...]]]:
    """Every sheet's rows of values, as openpyxl reads them back."""
    workbook = load_workbook(io.BytesIO(data), data_only=False)
    try:
        return {
            sheet.title: [tuple(row) for row in sheet.iter_rows(values_only=True)]
            for sheet in workbook.worksheets
        }
    finally:
        workbook.close()

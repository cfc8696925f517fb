"""Large files stream with bounded memory; cancellation stops the conversion thread."""

from __future__ import annotations

import asyncio
import sys
import threading
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from vecron.plugin.files import ExecutionFiles
from vecron_files import FilesConfig
from vecron_files.conversion import Conversion, run_conversion
from vecron_files.readers import Stopped

from .support import Harness

ROW_TEXT = "Nguyễn Văn Ánh, Đà Nẵng, phở bò; " * 60  # ~2 KB a row: few rows, many bytes


async def write_csv(files: ExecutionFiles, name: str, megabytes: int, text: str = ROW_TEXT) -> int:
    """Stream a generated CSV of about ``megabytes`` MB into storage; returns its rows."""
    rows = 0
    target = megabytes * 1_000_000

    async def chunks() -> Any:
        nonlocal rows
        yield b"id,amount,city,note\r\n"
        size = 0
        while size < target:
            lines = []
            for _ in range(200):
                rows += 1
                lines.append(f'{rows},{rows % 997}.25,Hà Nội,"{text}"\r\n')
            chunk = "".join(lines).encode()
            size += len(chunk)
            yield chunk

    await files.write(name, chunks())
    return rows


async def peak_of(files: Harness, config: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    tracemalloc.start()
    try:
        result = await files.run(config)
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


CONVERSION = {
    "transform": {
        "columns": {"id": "ma", "amount": "so_tien", "note": "ghi_chu"},
        "types": {"ma": "int", "so_tien": "decimal"},
    },
    "max_rows_in_output": 5,
}


async def test_a_20_mb_csv_converts_in_a_few_mb_of_memory(files: Harness) -> None:
    assert files.ctx.files is not None
    rows = await write_csv(files.ctx.files, "big.csv", 20)
    config = {"input": {"file": "big.csv"}, "output": {"name": "big.jsonl"}, **CONVERSION}
    peak, result = await peak_of(files, config)
    assert result["row_count"] == rows
    assert result["file"]["size"] > 20_000_000
    # Storage moves 1 MiB chunks; everything else is a few rows at a time.
    assert peak < 4_000_000, f"peak {peak} bytes for a 20 MB file"


async def test_memory_does_not_grow_with_the_file(files: Harness) -> None:
    assert files.ctx.files is not None
    await write_csv(files.ctx.files, "small.csv", 2)
    await write_csv(files.ctx.files, "large.csv", 16)
    peaks = []
    for name in ("small", "large"):
        config = {"input": {"file": f"{name}.csv"}, "output": {"name": f"{name}.csv"}, **CONVERSION}
        peaks.append((await peak_of(files, config))[0])
    small, large = peaks
    # Eight times the data, and well under 1.5 MB more memory.
    assert large < small + 1_500_000, f"{small} bytes for 2 MB, {large} bytes for 16 MB"


async def test_an_xlsx_output_streams_too(files: Harness) -> None:
    assert files.ctx.files is not None
    rows = await write_csv(files.ctx.files, "big.csv", 8)
    config = {"input": {"file": "big.csv"}, "output": {"name": "big.xlsx"}, **CONVERSION}
    peak, result = await peak_of(files, config)
    assert result["file"]["rows"] == rows
    assert peak < 4_000_000, f"peak {peak} bytes"


def _conversion_threads() -> int:
    """Threads whose stack is inside run_conversion right now."""
    count = 0
    for frame in sys._current_frames().values():
        walker: Any = frame
        while walker is not None:
            if walker.f_code is run_conversion.__code__:
                count += 1
                break
            walker = walker.f_back
    return count


async def test_cancelling_the_step_stops_the_thread_and_cleans_up(
    files: Harness, tmp_path: Path
) -> None:
    assert files.ctx.files is not None
    await write_csv(files.ctx.files, "big.csv", 12, text="phở")
    config = FilesConfig.model_validate(
        {
            "input": {"file": "big.csv"},
            "transform": {"types": {"amount": "decimal"}, "filter": "row.amount > 1"},
            "output": {"name": "out.csv"},
        }
    )
    task = asyncio.create_task(files.executor.run(files.ctx, config))
    for _ in range(500):  # until the thread is converting
        await asyncio.sleep(0.01)
        if _conversion_threads():
            break
    assert _conversion_threads() == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(500):
        if not _conversion_threads():
            break
        await asyncio.sleep(0.01)
    assert _conversion_threads() == 0, "the conversion thread kept running"
    assert list((tmp_path / "work").iterdir()) == []
    assert not await files.ctx.files.exists("out.csv")


def test_a_set_flag_stops_the_conversion(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("a\n" + "1\n" * 5000)
    config = FilesConfig.model_validate({"input": {"file": "in.csv"}, "output": {"name": "o.csv"}})
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Stopped):
        run_conversion(Conversion(config, source, tmp_path / "out.csv", None, cancel))


async def test_temporary_files_are_removed_after_success_and_failure(
    files: Harness, tmp_path: Path
) -> None:
    await files.put("in.csv", b"a\n1\nx\n")
    await files.run({"input": {"file": "in.csv"}, "output": {"name": "out.csv"}})
    assert list((tmp_path / "work").iterdir()) == []
    with pytest.raises(Exception, match="cannot convert"):
        await files.run({"input": {"file": "in.csv"}, "transform": {"types": {"a": "int"}}})
    assert list((tmp_path / "work").iterdir()) == []

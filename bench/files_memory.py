"""Peak memory and speed of the ``files`` step on a large CSV.

    uv run python bench/files_memory.py [--size-mb 200] [--limit-mb 200]

Generates a CSV of about ``--size-mb`` MB (Vietnamese text, numbers, dates) in a
temporary folder, then runs two conversions, each in a child process, through the real
executor and a FileStorage: CSV→CSV with a column mapping and type conversion, and
CSV→JSONL. Each child reports its peak resident memory (``getrusage`` ru_maxrss, the
whole process: interpreter, vecron and the conversion) and the run's throughput. Exits 1
when a peak exceeds ``--limit-mb``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

EXECUTION = "bench-files"
INPUT = "in/big.csv"
HEADER = ["id", "name", "city", "amount", "day", "note"]
NAMES = ["Nguyễn Văn Ánh", "Trần Thị Bích", "Lê Đức Thọ", "Phạm Thị Hương", "Hoàng Văn Nam"]
CITIES = ["Hà Nội", "Đà Nẵng", "Hồ Chí Minh", "Huế", "Cần Thơ"]

SCENARIOS: dict[str, dict[str, Any]] = {
    "csv-to-csv (mapping + types)": {
        "input": {"file": INPUT},
        "transform": {
            "columns": {"id": "ma", "name": "ho_ten", "amount": "so_tien", "day": "ngay"},
            "types": {
                "ma": "int",
                "so_tien": "decimal",
                "ngay": {"type": "date", "format": "%d/%m/%Y"},
            },
        },
        "output": {"name": "out/big.csv"},
    },
    "csv-to-jsonl": {"input": {"file": INPUT}, "output": {"name": "out/big.jsonl"}},
}


def generate(path: Path, size: int) -> int:
    """Write a CSV of at least ``size`` bytes; returns its row count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    rows = 0
    with open(path, "w", encoding="utf-8", newline="") as file:
        file.write(",".join(HEADER) + "\r\n")
        while file.tell() < size:
            lines = []
            for _ in range(10_000):
                rows += 1
                lines.append(
                    f"{rows},{rng.choice(NAMES)},{rng.choice(CITIES)},"
                    f"{rng.randint(0, 10**7)}.{rng.randint(0, 99):02d},"
                    f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/20{rng.randint(10, 30)},"
                    f'"phở bò, bún chả; ghi chú {rng.random():.6f}"\r\n'
                )
            file.write("".join(lines))
    return rows


async def convert(storage_dir: Path, config: dict[str, Any]) -> dict[str, Any]:
    from vecron.storage.file import FileStorage
    from vecron.testing.step_contexts import make_step_context
    from vecron_files import FilesConfig, FilesExecutor

    storage = FileStorage(storage_dir.as_uri())
    await storage.start()
    context = make_step_context(storage, execution_id=EXECUTION, timeout=None)
    started = time.perf_counter()
    output = await FilesExecutor(temp_dir=storage_dir.parent).run(
        context, FilesConfig.model_validate(config)
    )
    seconds = time.perf_counter() - started
    await storage.close()
    return {"seconds": seconds, "rows": output["row_count"], "file": output["file"]}


def child(storage_dir: Path, scenario: str) -> None:
    result = asyncio.run(convert(storage_dir, SCENARIOS[scenario]))
    # Linux reports ru_maxrss in KiB.
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=200.0)
    parser.add_argument("--limit-mb", type=float, default=200.0)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--storage", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.storage), args.child)
        return 0

    failed = False
    with tempfile.TemporaryDirectory(prefix="vecron-bench-files-") as folder:
        storage_dir = Path(folder) / "storage"
        source = storage_dir / "executions" / EXECUTION / "files" / INPUT
        rows = generate(source, int(args.size_mb * 1_000_000))
        size_mb = source.stat().st_size / 1_000_000
        print(f"input: {size_mb:.1f} MB, {rows} rows")
        for scenario in SCENARIOS:
            command = [sys.executable, __file__, "--child", scenario, "--storage", str(storage_dir)]
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                print(f"{scenario}: FAILED\n{done.stderr}")
                failed = True
                continue
            result = json.loads(done.stdout.strip().splitlines()[-1])
            peak = result["peak_rss_mb"]
            verdict = "ok" if peak < args.limit_mb else f"OVER {args.limit_mb:.0f} MB"
            print(
                f"{scenario}: peak RSS {peak:.1f} MB ({verdict}), "
                f"{size_mb / result['seconds']:.1f} MB/s, {result['seconds']:.1f} s, "
                f"{result['rows']} rows, output {result['file']['size'] / 1_000_000:.1f} MB"
            )
            failed = failed or peak >= args.limit_mb
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

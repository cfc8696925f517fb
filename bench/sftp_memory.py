"""SFTP streaming: peak memory and speed of a 200 MB download and upload.

    uv run python bench/sftp_memory.py [--size-mb 200]

Needs root (it starts its own OpenSSH server, as the tests do: tests/support/sshd.py).
Each transfer runs an ``sftp`` step in a fresh child process, with file:// storage, and
reports the child's peak resident memory (``ru_maxrss``) next to its resident memory
before the transfer: with streaming the difference stays a few MB whatever the file
size, where reading the file whole would add the file's size.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MB = 1_000_000
MIB = 1024 * 1024


def rss_bytes() -> int:
    """Resident memory now (Linux: /proc/self/statm, in pages)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


async def child(request: dict[str, Any]) -> dict[str, Any]:
    """Run one ``sftp`` step as the worker would; timings and memory."""
    from vecron.storage.file import FileStorage
    from vecron.testing.step_contexts import make_step_context
    from vecron_sftp import SftpConfig, SftpExecutor

    storage = FileStorage(Path(request["storage"]).as_uri())
    await storage.start()
    ctx = make_step_context(storage, execution_id=request["execution_id"], timeout=None)
    config = SftpConfig.model_validate(request["config"])
    executor = SftpExecutor()
    before = rss_bytes()
    started = time.perf_counter()
    output = await executor.run(ctx, config)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    [entry] = output["files"]
    return {"seconds": seconds, "rss_before": before, "peak_rss": peak, "file": entry}


def run_child(request: dict[str, Any]) -> dict[str, Any]:
    # The request (password included) goes through stdin, not the command line.
    done = subprocess.run(
        [sys.executable, __file__, "--child"],
        input=json.dumps(request).encode(),
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"child failed:\n{done.stderr.decode(errors='replace')}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def write_random(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as file:
        left = size
        while left:
            block = os.urandom(min(MIB, left))
            digest.update(block)
            file.write(block)
            left -= len(block)
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=int, default=200, help="file size in MB (10^6 bytes)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(child(json.load(sys.stdin)))))
        return

    sys.path.insert(0, str(ROOT))  # tests.support.sshd: the server the tests use
    from tests.support.sshd import ssh_server

    size = args.size_mb * MB
    storage = Path(tempfile.mkdtemp(prefix="vecron-bench-sftp-"))
    with ssh_server() as server:
        folder = server.remote_folder()
        try:
            print(f"writing a {args.size_mb} MB random file on the server...", file=sys.stderr)
            source = folder.write("big.bin")
            sha256 = write_random(source, size)
            base = {"storage": str(storage), "execution_id": "bench-sftp"}
            runs = {
                "download": server.step_config(
                    root=folder.remote, action="download", remote="big.bin"
                ),
                "upload": server.step_config(
                    root=folder.remote, action="upload", files="big.bin", remote_dir="back"
                ),
            }
            rows = []
            for name, config in runs.items():
                result = run_child({**base, "config": config})
                entry = result["file"]
                if entry["size"] != size or entry["sha256"] != sha256:
                    raise SystemExit(f"{name}: the transferred file differs from the original")
                rows.append((name, result))
            uploaded = folder.path / "back" / "big.bin"
            if uploaded.stat().st_size != size:
                raise SystemExit("upload: the remote copy has the wrong size")
        finally:
            shutil.rmtree(folder.path, ignore_errors=True)
            shutil.rmtree(storage, ignore_errors=True)

    print(f"sftp, {args.size_mb} MB file, loopback OpenSSH server, file:// storage")
    print(
        f"{'transfer':<10}{'seconds':>9}{'MB/s':>9}{'RSS before':>12}{'peak RSS':>10}{'growth':>8}"
    )
    for name, result in rows:
        before, peak = result["rss_before"] / MB, result["peak_rss"] / MB
        print(
            f"{name:<10}{result['seconds']:>9.2f}{size / MB / result['seconds']:>9.1f}"
            f"{before:>10.1f}MB{peak:>8.1f}MB{peak - before:>6.1f}MB"
        )


if __name__ == "__main__":
    main()

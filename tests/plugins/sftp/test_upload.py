"""Uploads of execution files to a real OpenSSH server: folders created, files written
under a temporary name and renamed, nothing outside root."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncGenerator
from pathlib import Path

import pytest

from vecron.errors import FinalError
from vecron.plugin.files import ExecutionFiles

from .conftest import Sftp


async def test_upload_creates_the_remote_folders(sftp: Sftp) -> None:
    data = os.urandom(2_500_000)  # several chunks
    await sftp.files.write_bytes("summary.csv", data)

    out = await sftp.run(action="upload", files="summary.csv", remote_dir="outbox/2025/01")

    remote_path = f"{sftp.folder.remote}/outbox/2025/01/summary.csv"
    assert sftp.folder.read("outbox/2025/01/summary.csv") == data
    [entry] = out["files"]
    assert entry["name"] == "summary.csv" and entry["remote_path"] == remote_path
    assert entry["size"] == len(data) and entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert entry["key"] == sftp.files.key("summary.csv")
    assert entry["modified"].endswith("+00:00")
    assert out["count"] == 1 and out["bytes"] == len(data) and out["action"] == "upload"
    assert sftp.folder.files() == ["outbox/2025/01/summary.csv"]  # no temporary file left
    assert (sftp.folder.path / "outbox" / "2025").stat().st_uid == sftp.folder.uid


async def test_pattern_keeps_the_path_below_its_literal_folder(sftp: Sftp) -> None:
    for name in ("out/a.csv", "out/x/b.csv", "out/c.txt", "other/d.csv"):
        await sftp.files.write_bytes(name, name.encode())

    out = await sftp.run(action="upload", files="out/*.csv", remote_dir="drop")

    # fnmatch's * also matches "/": out/x/b.csv is included, below drop/x/.
    assert [f["remote_path"] for f in out["files"]] == [
        f"{sftp.folder.remote}/drop/a.csv",
        f"{sftp.folder.remote}/drop/x/b.csv",
    ]
    assert sftp.folder.files() == ["drop/a.csv", "drop/x/b.csv"]
    assert sftp.folder.read("drop/x/b.csv") == b"out/x/b.csv"


async def test_overwrite(sftp: Sftp) -> None:
    sftp.folder.write("drop/a.csv", b"old")
    await sftp.files.write_bytes("a.csv", b"new")

    with pytest.raises(FinalError, match="exists and overwrite is false"):
        await sftp.run(action="upload", files="a.csv", remote_dir="drop", overwrite=False)
    assert sftp.folder.read("drop/a.csv") == b"old"

    await sftp.run(action="upload", files="a.csv", remote_dir="drop")
    assert sftp.folder.read("drop/a.csv") == b"new"
    assert sftp.folder.files() == ["drop/a.csv"]

    await sftp.run(action="upload", files="a.csv", remote_dir="fresh", overwrite=False)
    assert sftp.folder.read("fresh/a.csv") == b"new"


async def test_no_matching_file(sftp: Sftp) -> None:
    await sftp.files.write_bytes("a.csv", b"a")
    with pytest.raises(FinalError, match=r"no execution file matches 'b\.csv'"):
        await sftp.run(action="upload", files="b.csv", remote_dir="drop")
    with pytest.raises(FinalError, match="no execution file matches"):
        await sftp.run(action="upload", files="a.csv.*", remote_dir="drop")
    out = await sftp.run(action="upload", files="*.pdf", remote_dir="drop", min_files=0)
    assert out["count"] == 0 and out["files"] == []
    assert sftp.folder.files() == []


@pytest.mark.parametrize("remote_dir", ["..", "../../etc", "/tmp"])
async def test_remote_dir_cannot_leave_root(sftp: Sftp, remote_dir: str) -> None:
    await sftp.files.write_bytes("a.csv", b"a")
    with pytest.raises(FinalError, match=r"^remote_dir: .* leads outside root"):
        await sftp.run(action="upload", files="a.csv", remote_dir=remote_dir)


async def test_remote_dir_linked_out_of_root_is_refused(sftp: Sftp) -> None:
    os.symlink("/tmp", sftp.folder.path / "escape")
    await sftp.files.write_bytes("a.csv", b"a")
    with pytest.raises(FinalError, match="leads outside root"):
        await sftp.run(action="upload", files="a.csv", remote_dir="escape/sub")
    assert not os.path.exists("/tmp/sub/a.csv")


async def test_bad_files_pattern_is_final(sftp: Sftp) -> None:
    with pytest.raises(FinalError, match=r"^files: "):
        await sftp.run(action="upload", files="../other/*.csv", remote_dir="drop")


async def test_folder_without_write_permission_is_final(sftp: Sftp) -> None:
    locked = sftp.folder.mkdir("locked")
    os.chown(locked, 0, 0)  # root's; the SFTP user may read but not write
    await sftp.files.write_bytes("a.csv", b"a")
    with pytest.raises(FinalError, match="Permission denied"):
        await sftp.run(action="upload", files="a.csv", remote_dir="locked/sub")
    with pytest.raises(FinalError, match="Permission denied"):
        await sftp.run(action="upload", files="a.csv", remote_dir="locked")


async def test_a_file_in_the_way_of_remote_dir_is_final(sftp: Sftp) -> None:
    sftp.folder.write("drop", b"a file, not a folder")
    await sftp.files.write_bytes("a.csv", b"a")
    with pytest.raises(FinalError):
        await sftp.run(action="upload", files="a.csv", remote_dir="drop/sub")


async def test_a_folder_in_the_way_of_the_file_is_final(sftp: Sftp) -> None:
    sftp.folder.mkdir("drop/a.csv")
    await sftp.files.write_bytes("a.csv", b"a")
    with pytest.raises(FinalError, match="is a folder"):
        await sftp.run(action="upload", files="a.csv", remote_dir="drop")
    assert sftp.folder.files() == []  # the temporary file is gone


async def test_failed_upload_leaves_no_partial_file(
    sftp: Sftp, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sftp.files.write_bytes("a.csv", b"x" * 3_000_000)
    real_read = ExecutionFiles.read

    async def broken_read(self: ExecutionFiles, name: str) -> AsyncGenerator[bytes, None]:
        async for chunk in real_read(self, name):
            yield chunk
            raise OSError("storage went away")  # after the first chunk reached the server

    monkeypatch.setattr(ExecutionFiles, "read", broken_read)
    with pytest.raises(OSError, match="storage went away"):
        await sftp.run(action="upload", files="a.csv", remote_dir="drop")
    assert sftp.folder.files() == []


async def test_long_names_get_a_temporary_name_within_limits(sftp: Sftp) -> None:
    name = "é" * 120 + ".csv"  # 244 bytes, near the 255-byte limit of a name
    await sftp.files.write_bytes(name, b"long")
    await sftp.run(action="upload", files=name, remote_dir="drop")
    assert sftp.folder.files() == [f"drop/{name}"]


async def written_part(folder: Path) -> Path:
    """The one file in ``folder`` once it holds data (the first chunk reached it)."""
    for _ in range(500):
        parts = list(folder.iterdir())
        if parts and parts[0].stat().st_size:
            assert len(parts) == 1, parts
            return parts[0]
        await asyncio.sleep(0.01)
    raise AssertionError(f"no data reached {folder}")


async def test_cancelled_upload_removes_its_temporary_file(
    sftp: Sftp, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sftp.files.write_bytes("a.csv", b"x" * 100)
    first_chunk_sent = asyncio.Event()

    async def stalled_read(self: ExecutionFiles, name: str) -> AsyncGenerator[bytes, None]:
        yield b"first chunk"
        first_chunk_sent.set()
        await asyncio.Event().wait()  # storage never answers again
        yield b""

    monkeypatch.setattr(ExecutionFiles, "read", stalled_read)
    task = asyncio.create_task(sftp.run(action="upload", files="a.csv", remote_dir="drop"))
    await asyncio.wait_for(first_chunk_sent.wait(), 10)
    part = await written_part(sftp.folder.path / "drop")
    assert part.name.startswith(".a.csv.vecron-") and part.name.endswith(".part")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sftp.folder.files() == []

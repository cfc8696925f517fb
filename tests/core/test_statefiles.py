"""vecron's own files are its user's alone: 0600 files, 0700 folders, whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.state import fresh_state
from vecron.statefiles import StateFiles, make_private_folder


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("umask_022")
async def test_a_fresh_state_folder_is_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with fresh_state(tmp_path, monkeypatch) as runtime:
        await runtime.storage.put_bytes("executions/e1/files/out.csv", b"a,b\n")
        state = tmp_path / ".vecron"
        files = [
            state / "vecron.db",
            state / "vecron.db-wal",
            state / "vecron.db-shm",
            state / "secret.key",
            state / "storage" / "executions" / "e1" / "files" / "out.csv",
        ]
        folders = [
            state,
            state / "storage",
            state / "storage" / "executions",
            state / "storage" / "executions" / "e1",
            state / "storage" / "executions" / "e1" / "files",
        ]
        assert {str(p.relative_to(state)): oct(mode(p)) for p in files} == {
            str(p.relative_to(state)): "0o600" for p in files
        }
        assert {str(p.relative_to(tmp_path)): oct(mode(p)) for p in folders} == {
            str(p.relative_to(tmp_path)): "0o700" for p in folders
        }


@pytest.mark.usefixtures("umask_022")
def test_only_missing_folders_are_made_private(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    make_private_folder(shared / "a" / "b")
    assert (mode(shared), mode(shared / "a"), mode(shared / "a" / "b")) == (0o755, 0o700, 0o700)
    (shared / "file").write_text("x")
    with pytest.raises(FileExistsError):
        make_private_folder(shared / "file")


def test_state_files_know_every_name_of_their_files(tmp_path: Path) -> None:
    database = tmp_path / "state" / "vecron.db"
    database.parent.mkdir()
    database.write_bytes(b"")
    (tmp_path / "storage").mkdir()
    state = StateFiles(files=(database,), folders=(tmp_path / "storage",))
    os.link(database, tmp_path / "hard.db")
    os.symlink(tmp_path / "storage", tmp_path / "store-link")
    assert state.holds(database)
    assert state.holds(tmp_path / "state" / ".." / "state" / "vecron.db")
    assert state.holds(tmp_path / "hard.db")
    assert state.holds(tmp_path / "store-link" / "not-yet" / "x.db")
    assert not state.holds(tmp_path / "state" / "other.db")
    assert not state.holds(tmp_path / "storage-other.db")

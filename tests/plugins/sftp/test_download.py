"""Downloads from a real OpenSSH server into the execution's files: one file, glob
patterns, folder trees, and the checks that keep them inside root and inside the
execution's storage prefix."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncssh
import pytest

from tests.support.sshd import ClientKey, SshServer
from vecron.errors import FinalError, RetryableError

from .conftest import Sftp

MTIME = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


async def test_one_file_with_its_metadata(sftp: Sftp) -> None:
    data = os.urandom(3000)
    path = sftp.folder.write("inbox/report.xlsx", data)
    os.utime(path, (MTIME.timestamp(), MTIME.timestamp()))

    out = await sftp.run(action="download", remote="inbox/report.xlsx")

    assert out["count"] == 1 and out["bytes"] == 3000 and out["truncated"] is False
    assert out["files"] == [
        {
            "name": "report.xlsx",
            "key": sftp.files.key("report.xlsx"),
            "size": 3000,
            "sha256": hashlib.sha256(data).hexdigest(),
            "remote_path": f"{sftp.folder.remote}/inbox/report.xlsx",
            "modified": "2025-01-02T03:04:05+00:00",
        }
    ]
    assert await sftp.files.read_bytes("report.xlsx") == data


async def test_absolute_remote_path_under_root(sftp: Sftp) -> None:
    sftp.folder.write("a.txt", b"abc")
    out = await sftp.run(action="download", remote=f"{sftp.folder.remote}/a.txt", into="in")
    assert [f["name"] for f in out["files"]] == ["in/a.txt"]
    assert await sftp.files.read_bytes("in/a.txt") == b"abc"


async def test_private_key_login(sftp: Sftp, ssh_server: SshServer) -> None:
    sftp.folder.write("k.txt", b"key")
    config = ssh_server.step_config(
        root=sftp.folder.remote,
        action="download",
        remote="k.txt",
        password=None,
        private_key=ssh_server.client_key.private,
    )
    out = await sftp.executor.run(sftp.ctx, sftp.executor.Config.model_validate(config))
    assert out["count"] == 1
    assert await sftp.files.read_bytes("k.txt") == b"key"


async def test_encrypted_private_key_with_passphrase(sftp: Sftp, ssh_server: SshServer) -> None:
    key = ClientKey.generate(passphrase="correct horse", fmt="pkcs8-pem")
    assert key.private.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    ssh_server.authorize(key.public)
    sftp.folder.write("k.txt", b"encrypted key")
    config = ssh_server.step_config(
        root=sftp.folder.remote,
        action="download",
        remote="k.txt",
        password=None,
        private_key=key.private,
        passphrase="correct horse",
    )
    await sftp.executor.run(sftp.ctx, sftp.executor.Config.model_validate(config))
    assert await sftp.files.read_bytes("k.txt") == b"encrypted key"


async def test_glob_pattern_matches_files_of_one_folder(sftp: Sftp) -> None:
    for name in ("a.xlsx", "b.xlsx", "c.csv", "sub/d.xlsx"):
        sftp.folder.write(f"inbox/{name}", name.encode())

    out = await sftp.run(action="download", remote="inbox/*.xlsx")

    assert [f["name"] for f in out["files"]] == ["a.xlsx", "b.xlsx"]
    assert [f["remote_path"] for f in out["files"]] == [
        f"{sftp.folder.remote}/inbox/a.xlsx",
        f"{sftp.folder.remote}/inbox/b.xlsx",
    ]
    assert await sftp.stored() == ["a.xlsx", "b.xlsx"]


async def test_glob_names_keep_the_path_below_the_pattern_base(sftp: Sftp) -> None:
    sftp.folder.write("data/east/report.csv", b"e")
    sftp.folder.write("data/west/report.csv", b"w")
    sftp.folder.write("data/west/other.csv", b"o")

    out = await sftp.run(action="download", remote="data/*/report.csv", into="reports")

    assert [f["name"] for f in out["files"]] == [
        "reports/east/report.csv",
        "reports/west/report.csv",
    ]
    assert await sftp.files.read_bytes("reports/west/report.csv") == b"w"


async def test_double_star_matches_at_any_depth(sftp: Sftp) -> None:
    sftp.folder.write("tree/a.csv", b"1")
    sftp.folder.write("tree/x/y/b.csv", b"2")
    sftp.folder.write("tree/x/c.txt", b"3")
    out = await sftp.run(action="download", remote="tree/**/*.csv")
    assert [f["name"] for f in out["files"]] == ["a.csv", "x/y/b.csv"]


async def test_glob_skips_folders_unless_recursive(sftp: Sftp) -> None:
    sftp.folder.write("in/a.txt", b"a")
    sftp.folder.write("in/sub/b.txt", b"b")

    flat = await sftp.run(action="download", remote="in/*")
    assert [f["name"] for f in flat["files"]] == ["a.txt"]

    deep = await sftp.run(action="download", remote="in/*", recursive=True, into="deep")
    assert [f["name"] for f in deep["files"]] == ["deep/a.txt", "deep/sub/b.txt"]


async def test_folder_recursively(sftp: Sftp) -> None:
    tree = {"outbox/1.csv": b"one", "outbox/x/2.csv": b"two", "outbox/x/y/3.csv": b"three"}
    for name, data in tree.items():
        sftp.folder.write(name, data)
    sftp.folder.mkdir("outbox/empty")

    out = await sftp.run(action="download", remote="outbox", recursive=True, into="batch")

    assert [f["name"] for f in out["files"]] == ["batch/1.csv", "batch/x/2.csv", "batch/x/y/3.csv"]
    assert out["count"] == 3 and out["bytes"] == len(b"onetwothree")
    for name, data in tree.items():
        assert await sftp.files.read_bytes(name.replace("outbox", "batch")) == data


async def test_folder_without_recursive_is_final(sftp: Sftp) -> None:
    sftp.folder.write("outbox/1.csv", b"one")
    with pytest.raises(FinalError, match="recursive: true"):
        await sftp.run(action="download", remote="outbox")
    assert await sftp.stored() == []


@pytest.mark.parametrize("remote", ["missing.txt", "inbox/*.pdf", "nowhere/*.csv"])
async def test_no_match_is_final(sftp: Sftp, remote: str) -> None:
    sftp.folder.write("inbox/a.csv", b"a")
    with pytest.raises(FinalError, match="no file matches"):
        await sftp.run(action="download", remote=remote)


async def test_min_files(sftp: Sftp) -> None:
    sftp.folder.write("inbox/a.csv", b"a")
    sftp.folder.write("inbox/b.csv", b"b")
    none = await sftp.run(action="download", remote="inbox/*.pdf", min_files=0)
    assert none == {"action": "download", "files": [], "count": 0, "bytes": 0, "truncated": False}
    with pytest.raises(FinalError, match=r"2 file\(s\) match .inbox/\*\.csv., min_files is 3"):
        await sftp.run(action="download", remote="inbox/*.csv", min_files=3)
    assert await sftp.stored() == []  # nothing is transferred when the plan fails


async def test_many_files(sftp: Sftp) -> None:
    for index in range(60):
        sftp.folder.write(f"many/{index:03}.txt", bytes(index))
    out = await sftp.run(action="download", remote="many/*.txt")
    assert out["count"] == 60 and out["bytes"] == sum(range(60))
    # Transfers run side by side, the output keeps the order of the names.
    assert [f["name"] for f in out["files"]] == [f"{index:03}.txt" for index in range(60)]
    assert len(await sftp.stored()) == 60


@pytest.mark.parametrize("remote", ["../escape.txt", "inbox/../../escape.txt", "/etc/passwd"])
async def test_dotdot_cannot_leave_root(sftp: Sftp, remote: str) -> None:
    with pytest.raises(FinalError, match=r"^remote: .* leads outside root"):
        await sftp.run(action="download", remote=remote)
    assert await sftp.stored() == []


async def test_dotdot_that_stays_inside_root_is_fine(sftp: Sftp) -> None:
    sftp.folder.write("a/b.txt", b"b")
    out = await sftp.run(action="download", remote="a/../a/./b.txt")
    assert [f["remote_path"] for f in out["files"]] == [f"{sftp.folder.remote}/a/b.txt"]


@pytest.mark.parametrize(
    ("remote", "recursive"),
    [("inbox/secret", False), ("inbox/*", False), ("inbox", True), ("linked/*", False)],
)
async def test_symlinks_cannot_lead_out_of_root(sftp: Sftp, remote: str, recursive: bool) -> None:
    sftp.folder.write("inbox/fine.txt", b"fine")
    os.symlink("/etc/hostname", sftp.folder.path / "inbox" / "secret")
    os.symlink("/etc", sftp.folder.path / "linked")
    with pytest.raises(FinalError, match="leads outside root"):
        await sftp.run(action="download", remote=remote, recursive=recursive)
    assert await sftp.stored() == []


async def test_symlinks_inside_root_are_followed_to_files(sftp: Sftp) -> None:
    sftp.folder.write("real/data.txt", b"data")
    sftp.folder.mkdir("inbox")
    os.symlink(sftp.folder.path / "real" / "data.txt", sftp.folder.path / "inbox" / "link.txt")
    os.symlink("nowhere.txt", sftp.folder.path / "inbox" / "dangling.txt")
    os.symlink(sftp.folder.path / "real", sftp.folder.path / "inbox" / "folder-link")

    out = await sftp.run(action="download", remote="inbox", recursive=True)

    # The link to a file is followed; a dangling one and a link to a folder are not.
    assert [(f["name"], f["remote_path"]) for f in out["files"]] == [
        ("link.txt", f"{sftp.folder.remote}/inbox/link.txt")
    ]
    assert await sftp.files.read_bytes("link.txt") == b"data"


@pytest.mark.parametrize(
    "filename",
    [b"back\\slash.txt", b".vecron-tmp-evil", b"bell\x07.txt", b"new\nline.txt", b"\xff\xfe.txt"],
)
async def test_names_that_cannot_be_stored_are_final(sftp: Sftp, filename: bytes) -> None:
    sftp.folder.write("odd/good.txt", b"good")
    folder = os.fsencode(sftp.folder.path / "odd")
    with open(os.path.join(folder, filename), "wb") as file:
        file.write(b"odd")
    with pytest.raises(FinalError):
        await sftp.run(action="download", remote="odd", recursive=True)
    assert await sftp.stored() == []  # not even the good one: the plan is checked first


async def test_into_keeps_names_in_the_execution(sftp: Sftp) -> None:
    sftp.folder.write("a.txt", b"a")
    out = await sftp.run(action="download", remote="a.txt", into="deep/er/")
    assert out["files"][0]["key"].endswith(f"/{sftp.ctx.execution_id}/files/deep/er/a.txt")


async def test_missing_root_is_final(sftp: Sftp) -> None:
    sftp.folder.write("file", b"")
    for root in (f"{sftp.folder.remote}/gone", f"{sftp.folder.remote}/file"):
        with pytest.raises(FinalError, match="is not a folder on the server"):
            await sftp.run(action="download", remote="a.txt", root=root)


async def test_unreadable_file_is_final(sftp: Sftp) -> None:
    path = sftp.folder.write("locked.txt", b"locked")
    os.chown(path, 0, 0)
    path.chmod(0o600)
    with pytest.raises(FinalError, match="Permission denied"):
        await sftp.run(action="download", remote="locked.txt")


async def test_file_changing_size_during_download_is_retryable(
    sftp: Sftp, monkeypatch: pytest.MonkeyPatch
) -> None:
    sftp.folder.write("growing.log", b"x" * 5000)
    real_stat = asyncssh.SFTPClientFile.stat

    async def stale_stat(self: asyncssh.SFTPClientFile) -> asyncssh.SFTPAttrs:
        attrs = await real_stat(self)
        attrs.size = 1000  # as if the file grew after the size was read
        return attrs

    monkeypatch.setattr(asyncssh.SFTPClientFile, "stat", stale_stat)
    with pytest.raises(RetryableError, match="changed while it was downloaded"):
        await sftp.run(action="download", remote="growing.log")
    assert await sftp.stored() == []


async def test_a_file_reached_twice_is_fetched_once(sftp: Sftp) -> None:
    sftp.folder.write("tree/x/b.csv", b"b")
    out = await sftp.run(action="download", remote="tree/**", recursive=True)
    assert [f["name"] for f in out["files"]] == ["x/b.csv"]


async def test_stars_match_hidden_names(sftp: Sftp) -> None:
    sftp.folder.write("in/.hidden.csv", b"h")
    sftp.folder.write("in/seen.csv", b"s")
    out = await sftp.run(action="download", remote="in/*.csv")
    assert [f["name"] for f in out["files"]] == [".hidden.csv", "seen.csv"]


@pytest.mark.parametrize("evil", ["../../escape.txt", "/etc/passwd", "a/../../b"])
async def test_a_lying_server_cannot_name_files_outside_the_execution(
    sftp: Sftp, monkeypatch: pytest.MonkeyPatch, evil: str
) -> None:
    """A hostile server may list names no file system has; they never reach storage."""
    sftp.folder.write("in/good.txt", b"good")
    real_scandir = asyncssh.SFTPClient.scandir

    async def lying_scandir(
        self: asyncssh.SFTPClient, path: str | bytes = "."
    ) -> AsyncIterator[asyncssh.SFTPName]:
        async for entry in real_scandir(self, path):
            yield entry
        attrs = asyncssh.SFTPAttrs(type=asyncssh.FILEXFER_TYPE_REGULAR, size=4)
        for name in (evil, ".."):  # names come as the path was given: bytes from glob
            yield asyncssh.SFTPName(name.encode() if isinstance(path, bytes) else name, attrs=attrs)

    monkeypatch.setattr(asyncssh.SFTPClient, "scandir", lying_scandir)
    with pytest.raises(FinalError, match="bad name"):
        await sftp.run(action="download", remote="in", recursive=True)
    with pytest.raises(FinalError):
        await sftp.run(action="download", remote="in/*")
    assert await sftp.stored() == []

"""Fixtures of the ``sftp`` tests: a real OpenSSH server for the session, a fresh remote
folder and fresh object storage per test."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.sshd import RemoteFolder, SshServer, remote_folder_fixture, ssh_server_fixture
from vecron.plugin.executor import StepContext
from vecron.plugin.files import ExecutionFiles
from vecron.storage.file import FileStorage
from vecron.testing.step_contexts import make_step_context
from vecron_sftp import SftpConfig, SftpExecutor

__all__ = ["remote_folder_fixture", "ssh_server_fixture"]


class Sftp:
    """Runs ``sftp`` steps against the test server for one test, in one execution."""

    def __init__(self, server: SshServer, folder: RemoteFolder, storage: FileStorage) -> None:
        self.server = server
        self.folder = folder
        self.storage = storage
        self.ctx: StepContext = make_step_context(storage)
        self.executor = SftpExecutor()

    @property
    def files(self) -> ExecutionFiles:
        assert self.ctx.files is not None
        return self.ctx.files

    def config(self, **fields: Any) -> SftpConfig:
        """A step config logging in with the password, rooted at the test's folder."""
        return SftpConfig.model_validate(
            self.server.step_config(**{"root": self.folder.remote, **fields})
        )

    async def run(self, **fields: Any) -> dict[str, Any]:
        return dict(await self.executor.run(self.ctx, self.config(**fields)))

    async def stored(self) -> list[str]:
        """Every file name of the execution."""
        return await self.files.names()


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[FileStorage]:
    store = FileStorage((tmp_path / "storage").as_uri())
    await store.start()
    yield store
    await store.close()


@pytest.fixture
def sftp(ssh_server: SshServer, remote_folder: RemoteFolder, storage: FileStorage) -> Sftp:
    return Sftp(ssh_server, remote_folder, storage)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections but never says a word (no SSH banner)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)  # the kernel completes handshakes; nobody ever accepts
        yield int(sock.getsockname()[1])

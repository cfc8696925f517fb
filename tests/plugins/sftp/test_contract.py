"""The ``sftp`` executor passes the executor contract every plugin must pass."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.sshd import RemoteFolder, SshServer
from vecron.testing import ExecutorContract
from vecron_sftp import SftpExecutor


class TestSftpExecutorContract(ExecutorContract):
    executor_class = SftpExecutor

    def valid_config(self) -> dict[str, Any]:
        return {
            "host": "sftp.example.com",
            "username": "partner",
            "private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\ncontract\n",
            "passphrase": "contract-passphrase",
            "known_hosts": "sftp.example.com ssh-ed25519 "
            "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
            "action": "download",
            "remote": "inbox/*.xlsx",
        }

    @pytest.fixture
    def succeeding_step(self, ssh_server: SshServer, remote_folder: RemoteFolder) -> dict[str, Any]:
        remote_folder.write("inbox/report.xlsx", b"PK\x03\x04 not really")
        return ssh_server.step_config(
            action="download", root=remote_folder.remote, remote="inbox/*.xlsx"
        )

    @pytest.fixture
    def slow_step(self, ssh_server: SshServer, silent_port: int) -> dict[str, Any]:
        # Accepts TCP, never sends the SSH banner: the run waits for connect_timeout.
        return ssh_server.step_config(
            port=silent_port, action="download", remote="a", connect_timeout=60
        )

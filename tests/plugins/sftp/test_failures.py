"""Which failures are final and which are retried: authentication, host keys, keys,
servers that are down or silent, lost connections. No message holds a secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import subprocess
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from tests.support.sshd import ClientKey, SshServer, free_port
from vecron.errors import FinalError, RetryableError, StepError
from vecron_sftp import SftpConfig

from .conftest import Sftp


async def failure(sftp: Sftp, **fields: Any) -> StepError:
    """The step error a download with ``fields`` raises."""
    fields.setdefault("action", "download")
    fields.setdefault("remote", "a.txt")
    with pytest.raises(StepError) as caught:
        await sftp.run(**fields)
    return caught.value


@pytest.fixture(autouse=True)
def a_file(sftp: Sftp) -> None:
    sftp.folder.write("a.txt", b"a")


async def test_wrong_password_is_final(sftp: Sftp) -> None:
    error = await failure(sftp, password="wrong-password-4d2f")
    assert isinstance(error, FinalError)
    assert str(error) == (f"{sftp.server.target}: authentication failed for vecron-sftp@127.0.0.1")
    assert "wrong-password-4d2f" not in repr(error)
    assert await sftp.stored() == []


async def test_unknown_key_is_final(sftp: Sftp) -> None:
    stranger = ClientKey.generate()
    error = await failure(sftp, password=None, private_key=stranger.private)
    assert isinstance(error, FinalError) and "authentication failed" in str(error)


def other_host_key(tmp_path: Path, kind: str = "ed25519") -> str:
    key = tmp_path / f"other_{kind}"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(key)], check=True, capture_output=True
    )
    return " ".join(key.with_suffix(".pub").read_text().split()[:2])


@pytest.mark.parametrize("kind", ["ed25519", "ecdsa"])
async def test_unknown_host_key_is_refused(sftp: Sftp, tmp_path: Path, kind: str) -> None:
    # The right host and port with another key (same or another type): an impostor.
    impostor = f"[127.0.0.1]:{sftp.server.port} {other_host_key(tmp_path, kind)}\n"
    error = await failure(sftp, known_hosts=impostor)
    assert isinstance(error, FinalError)
    assert "127.0.0.1" in str(error)
    assert await sftp.stored() == []  # nothing transferred


async def test_host_key_of_another_host_does_not_count(sftp: Sftp) -> None:
    key = sftp.server.known_hosts.split(" ", 1)[1]
    error = await failure(sftp, known_hosts=f"[127.0.0.1]:{free_port()} {key}")
    assert isinstance(error, FinalError) and "host key" in str(error)
    error = await failure(sftp, known_hosts=f"other.example {key}")
    assert isinstance(error, FinalError) and "host key" in str(error)
    assert await sftp.stored() == []


async def test_revoked_host_key_is_refused(sftp: Sftp) -> None:
    key = sftp.server.known_hosts.split(" ", 1)[1]
    revoked = f"{sftp.server.known_hosts}@revoked [127.0.0.1]:{sftp.server.port} {key}"
    error = await failure(sftp, known_hosts=revoked)
    assert isinstance(error, FinalError)


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-key\n", "private_key: cannot use it"),
        ("just some text", "private_key: cannot use it"),
    ],
)
async def test_bad_private_key_is_final(sftp: Sftp, key: str, words: str) -> None:
    error = await failure(sftp, password=None, private_key=key)
    assert isinstance(error, FinalError) and str(error).startswith(words)
    assert "not-a-key" not in str(error)


async def test_encrypted_key_needs_the_right_passphrase(sftp: Sftp) -> None:
    key = ClientKey.generate(passphrase="right", fmt="pkcs8-pem")
    sftp.server.authorize(key.public)
    for passphrase in (None, "wrong"):
        error = await failure(sftp, password=None, private_key=key.private, passphrase=passphrase)
        assert isinstance(error, FinalError) and "private_key" in str(error)
        assert "right" not in str(error).replace("private", "")


async def test_encrypted_openssh_key(sftp: Sftp, tmp_path: Path) -> None:
    """ssh-keygen's default format; decrypting it takes asyncssh's bcrypt extra, which
    the plugin depends on."""
    path = tmp_path / "id_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "pass phrase", "-f", str(path)],
        check=True,
        capture_output=True,
    )
    sftp.server.authorize(path.with_suffix(".pub").read_text())
    fields = {"password": None, "private_key": path.read_text(), "passphrase": "pass phrase"}
    out = await sftp.run(action="download", remote="a.txt", **fields)
    assert out["count"] == 1


async def test_server_down_is_retryable(sftp: Sftp) -> None:
    error = await failure(sftp, port=free_port())
    assert isinstance(error, RetryableError)
    assert "cannot connect" in str(error) and "refused" in str(error).lower()


async def test_silent_server_times_out_retryable(sftp: Sftp, silent_port: int) -> None:
    error = await failure(sftp, port=silent_port, connect_timeout=0.3)
    assert isinstance(error, RetryableError)
    assert str(error) == f"sftp://127.0.0.1:{silent_port}: no SSH login within connect_timeout"


async def test_connection_lost_during_transfer_is_retryable(
    sftp: Sftp, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def lost(self: asyncssh.SFTPClientFile, *args: Any) -> bytes:
        raise asyncssh.SFTPConnectionLost("Connection lost")

    monkeypatch.setattr(asyncssh.SFTPClientFile, "read", lost)
    error = await failure(sftp)
    assert isinstance(error, RetryableError) and "Connection lost" in str(error)
    assert await sftp.stored() == []


async def test_disconnect_is_retryable(sftp: Sftp, monkeypatch: pytest.MonkeyPatch) -> None:
    async def dropped(self: asyncssh.SFTPClient, *args: Any, **kwargs: Any) -> Any:
        raise asyncssh.ConnectionLost("Connection reset by peer")

    monkeypatch.setattr(asyncssh.SFTPClient, "glob_sftpname", dropped)
    error = await failure(sftp, remote="*.txt")
    assert isinstance(error, RetryableError) and "connection lost" in str(error)


async def test_no_storage_is_final(sftp: Sftp, ssh_server: SshServer) -> None:
    from vecron.testing.step_contexts import make_step_context

    config = SftpConfig.model_validate(ssh_server.step_config(action="download", remote="a"))
    with pytest.raises(FinalError, match="needs object storage"):
        await sftp.executor.run(make_step_context(None), config)


async def test_hashed_known_hosts_entry(sftp: Sftp) -> None:
    """``ssh-keygen -H`` hides host names in known_hosts; such lines work too."""
    salt = os.urandom(20)
    name = f"[127.0.0.1]:{sftp.server.port}".encode()
    hashed = hmac.new(salt, name, hashlib.sha1).digest()
    host = f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(hashed).decode()}"
    key = sftp.server.known_hosts.split(" ", 1)[1]
    out = await sftp.run(action="download", remote="a.txt", known_hosts=f"{host} {key}")
    assert out["count"] == 1

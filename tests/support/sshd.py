"""A real OpenSSH server for tests: ``/usr/sbin/sshd`` on a free loopback port.

The server has its own host key, its own ``authorized_keys`` and password login for one
Linux user, ``vecron-sftp``, created once (``useradd``) if missing; its password is set
on every start (``chpasswd``), so it is always :data:`PASSWORD`. SFTP is served by
``internal-sftp``. Starting it needs root (sshd switches to the user after login); as
anything else the test fails, it is never skipped.

Tests fill the server's files directly on disk: :class:`RemoteFolder` is a fresh folder in
the user's home, owned by the user, that the server sees at the same absolute path.

A test module or conftest imports the fixtures (pytest resolves a fixture's fixtures in
the module using it)::

    from tests.support.sshd import remote_folder_fixture, ssh_server_fixture  # noqa: F401

and a step config that logs in with the password is ``ssh_server.step_config(...)``.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from tests.support.private_servers import stop_process

SSHD = "/usr/sbin/sshd"
USER = "vecron-sftp"
#: The test user's password (a test fixture, not a secret).
PASSWORD = "vecron-sftp-test-Pa55w0rd"
HOST = "127.0.0.1"
START_TIMEOUT = 20.0


def free_port() -> int:
    """A loopback port nothing listens on (right now)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def ensure_user(name: str = USER, password: str = PASSWORD) -> pwd.struct_passwd:
    """The Linux account the tests log in as, created if missing, with ``password``."""
    if os.geteuid() != 0:
        pytest.fail(
            "the SFTP tests start their own sshd and need root (sshd switches to the test "
            f"user {name!r} after login); run the tests as root, e.g. in the CI container",
            pytrace=False,
        )
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--create-home", "--shell", "/bin/sh", name],
            check=True,
            capture_output=True,
        )
    subprocess.run(
        ["chpasswd"], input=f"{name}:{password}\n".encode(), check=True, capture_output=True
    )
    return pwd.getpwnam(name)


@dataclass(frozen=True, slots=True)
class ClientKey:
    """A client key pair: OpenSSH private key text and its ``authorized_keys`` line."""

    private: str = field(repr=False)
    public: str
    passphrase: str | None = field(default=None, repr=False)

    @classmethod
    def generate(cls, passphrase: str | None = None, fmt: str = "openssh") -> ClientKey:
        """A new ed25519 key in ``fmt`` (``openssh``, ``pkcs8-pem``...), encrypted with
        ``passphrase`` if given (encrypted ``openssh`` keys need the bcrypt package)."""
        key = asyncssh.generate_private_key("ssh-ed25519", comment="vecron-test")
        private = key.export_private_key(fmt, passphrase=passphrase).decode()
        public = key.export_public_key("openssh").decode().strip()
        return cls(private, public, passphrase)


@dataclass
class RemoteFolder:
    """A folder on the server, owned by the test user; ``path`` is also its remote path."""

    path: Path
    uid: int
    gid: int

    @property
    def remote(self) -> str:
        return str(self.path)

    def write(self, name: str, data: bytes = b"") -> Path:
        """Create file ``name`` (relative, parents made) owned by the test user."""
        target = self.path / name
        self.mkdir(str(Path(name).parent))
        target.write_bytes(data)
        os.chown(target, self.uid, self.gid)
        return target

    def mkdir(self, name: str) -> Path:
        """Create folder ``name`` and its parents, all owned by the test user."""
        target = self.path
        for part in Path(name).parts:
            target = target / part
            if not target.exists():
                target.mkdir()
                os.chown(target, self.uid, self.gid)
        return target

    def read(self, name: str) -> bytes:
        return (self.path / name).read_bytes()

    def files(self) -> list[str]:
        """Relative paths of every file below, sorted (symlinks are not followed)."""
        found = []
        for folder, _, names in os.walk(self.path):
            found += [str((Path(folder) / n).relative_to(self.path)) for n in names]
        return sorted(found)


class SshServer:
    """One sshd process with a host key, password and key login for :data:`USER`.

    ``known_hosts`` is the line a client needs to trust this server; ``client_key`` is
    authorised already, ``authorize()`` adds others.
    """

    host = HOST

    def __init__(self, username: str = USER, password: str = PASSWORD) -> None:
        account = ensure_user(username, password)
        self.username = username
        self.password = password
        self.uid, self.gid = account.pw_uid, account.pw_gid
        self.home = Path(account.pw_dir)
        # Not pytest's tmp folder: sshd reads authorized_keys as the user, and pytest's
        # folders are private to root.
        self.folder = Path(tempfile.mkdtemp(prefix="vecron-sshd-"))
        self.folder.chmod(0o755)
        self.port = free_port()
        self.host_key = self.folder / "ssh_host_ed25519_key"
        self.authorized_keys = self.folder / "authorized_keys"
        self.log_path = self.folder / "sshd.log"
        self.client_key = ClientKey.generate()
        self.process: subprocess.Popen[bytes] | None = None
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.host_key)],
            check=True,
            capture_output=True,
        )
        self.host_public_key = Path(f"{self.host_key}.pub").read_text().split()[:2]
        self.authorized_keys.write_text("")
        self.authorized_keys.chmod(0o644)
        self.authorize(self.client_key.public)
        (self.folder / "sshd_config").write_text(self._config())

    @property
    def known_hosts(self) -> str:
        """The ``known_hosts`` line for this server (``[host]:port`` as the port is not 22)."""
        return f"[{self.host}]:{self.port} {' '.join(self.host_public_key)}\n"

    @property
    def target(self) -> str:
        return f"sftp://{self.host}:{self.port}"

    def authorize(self, public_key: str) -> None:
        """Let ``public_key`` (an ``authorized_keys`` line) log in; sshd rereads the file."""
        with self.authorized_keys.open("a") as file:
            file.write(public_key.strip() + "\n")

    def step_config(self, **fields: Any) -> dict[str, Any]:
        """An ``sftp`` step config that logs in with the password; ``fields`` add or override."""
        config: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "username": self.username,
            "password": self.password,
            "known_hosts": self.known_hosts,
        }
        config.update(fields)
        return config

    def _config(self) -> str:
        lines = [
            f"ListenAddress {self.host}:{self.port}",
            f"HostKey {self.host_key}",
            f"PidFile {self.folder / 'sshd.pid'}",
            f"AuthorizedKeysFile {self.authorized_keys}",
            # The files live in a temporary folder sshd's strict checks would refuse.
            "StrictModes no",
            "PasswordAuthentication yes",
            "PubkeyAuthentication yes",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "PermitRootLogin no",
            f"AllowUsers {self.username}",
            "UseDNS no",
            "PrintMotd no",
            # Many tests connect at once or in quick succession.
            "MaxStartups 100:30:200",
            "MaxSessions 50",
            "Subsystem sftp internal-sftp",
        ]
        return "\n".join(lines) + "\n"

    def start(self) -> None:
        # sshd's privilege separation folder; Debian creates it at service start only.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(self.folder / "sshd_config")],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"sshd exited with code {self.process.returncode}:\n{self.log()}",
                    pytrace=False,
                )
            with socket.socket() as sock:
                if sock.connect_ex((self.host, self.port)) == 0:
                    return
            time.sleep(0.05)
        self.stop()
        pytest.fail(f"sshd did not listen on port {self.port}:\n{self.log()}", pytrace=False)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            stop_process(process)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def log(self) -> str:
        """The end of sshd's log, for failure messages."""
        with contextlib.suppress(FileNotFoundError):
            return self.log_path.read_text(errors="replace")[-4000:]
        return ""

    def remote_folder(self) -> RemoteFolder:
        """A fresh empty folder in the user's home (remove it with ``shutil.rmtree``)."""
        path = self.home / f"t-{secrets.token_hex(6)}"
        path.mkdir()
        os.chown(path, self.uid, self.gid)
        return RemoteFolder(path, self.uid, self.gid)


@contextlib.contextmanager
def ssh_server() -> Iterator[SshServer]:
    """A started :class:`SshServer`, stopped and removed afterwards."""
    server = SshServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(name="ssh_server", scope="session")
def ssh_server_fixture() -> Iterator[SshServer]:
    with ssh_server() as server:
        yield server


@pytest.fixture(name="remote_folder")
def remote_folder_fixture(ssh_server: SshServer) -> Iterator[RemoteFolder]:
    """A fresh folder on the session's server for one test, removed afterwards."""
    folder = ssh_server.remote_folder()
    try:
        yield folder
    finally:
        shutil.rmtree(folder.path, ignore_errors=True)

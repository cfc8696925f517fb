"""NATS JetStream fixtures: a reachable server, fresh per-test streams, a cuttable link.

The server is ``VECRON_TEST_NATS_URL`` (default ``nats://127.0.0.1:4222``, which
``.ci/services.sh`` starts). A test needing it FAILS when it is unreachable or has no
JetStream; it is never skipped. Every ``nats_url_factory()`` call names a new stream,
subject and durable, so tests never see each other's messages; the streams are deleted
afterwards.

Import into a test module (the fixtures are named ``nats_admin``, ``nats_server`` and
``nats_url_factory``; the ``_fixture`` suffix keeps test parameters from shadowing them)::

    from tests.support.nats_fixtures import (  # noqa: F401 - fixtures
        nats_admin_fixture,
        nats_server_fixture,
        nats_url_factory_fixture,
    )
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlencode

import nats
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

NATS_URL_ENV = "VECRON_TEST_NATS_URL"
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
HOW_TO_START = (
    "start it with `bash .ci/services.sh` (nats-server -a 127.0.0.1 -p 4222 -js "
    f"-sd /var/lib/nats-server) or point {NATS_URL_ENV} at one"
)

NatsUrlFactory = Callable[..., str]


async def connect_admin(server: str) -> Client:
    """A plain connection that gives up at once: for probing and test assertions."""
    return await asyncio.wait_for(
        nats.connect(
            server,
            allow_reconnect=False,
            max_reconnect_attempts=1,
            reconnect_time_wait=0,
            connect_timeout=2,
        ),
        timeout=5,
    )


@pytest.fixture(name="nats_admin")
async def nats_admin_fixture() -> AsyncIterator[JetStreamContext]:
    """JetStream on the test server; fails the test if there is none."""
    server = os.environ.get(NATS_URL_ENV, DEFAULT_NATS_URL)
    try:
        nc = await connect_admin(server)
    except Exception as exc:  # refused, timed out, bad URL: no usable server
        pytest.fail(
            f"NATS at {server} is not reachable ({type(exc).__name__}: {exc}); {HOW_TO_START}",
            pytrace=False,
        )
    try:
        js = nc.jetstream(timeout=5)
        try:
            await js.account_info()
        except Exception as exc:
            pytest.fail(
                f"NATS at {server} answers but JetStream does not "
                f"({type(exc).__name__}: {exc}); {HOW_TO_START}",
                pytrace=False,
            )
        yield js
    finally:
        await nc.close()


@pytest.fixture(name="nats_server")
def nats_server_fixture(nats_admin: JetStreamContext) -> str:
    """The test server's URL, checked to have JetStream."""
    return os.environ.get(NATS_URL_ENV, DEFAULT_NATS_URL)


@pytest.fixture(name="nats_url_factory")
async def nats_url_factory_fixture(
    nats_server: str, nats_admin: JetStreamContext
) -> AsyncIterator[NatsUrlFactory]:
    """``make(**options)`` → a queue URL with its own stream/subject/durable. Pass
    ``server=`` to reach the server another way (a proxy) and ``same_as=`` a URL made
    earlier to share its stream (a second worker)."""
    streams: list[str] = []

    def make(*, server: str | None = None, **options: object) -> str:
        tag = uuid.uuid4().hex[:12]
        params: dict[str, object] = {
            "stream": f"VECRON_TEST_{tag}",
            "subject": f"vecron_test.{tag}.executions",
            "durable": f"vecron-test-{tag}",
        }
        params.update(options)
        streams.append(str(params["stream"]))
        return f"{server or nats_server}?{urlencode(params)}"

    yield make
    for stream in streams:
        with contextlib.suppress(NotFoundError):
            await nats_admin.delete_stream(stream)


class TcpProxy:
    """A loopback TCP relay whose link can be cut and restored, to show a client riding
    out a broken connection without touching the shared server."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Refuse new connections and break the open ones."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def restore(self) -> None:
        await self.start()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            sink.transport.abort()
            self._writers.discard(sink)

"""Events across processes over a real NATS server: each bus stands for one process."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime

import pluggy
import pytest

from tests.core.test_events import Seen, bare_pm, changed, created
from tests.support.nats_fixtures import (  # noqa: F401 - fixtures
    TcpProxy,
    connect_admin,
    nats_admin_fixture,
    nats_server_fixture,
)
from vecron.events import EventBus, EventKind, ExecutionCreated
from vecron.events.nats import NatsEventTransport
from vecron.runtime import open_event_transport

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

BusFactory = Callable[..., AbstractAsyncContextManager[EventBus]]


@pytest.fixture
def prefix() -> str:
    return f"vecron_test.{uuid.uuid4().hex[:12]}.events"


@pytest.fixture
def process(nats_server: str, prefix: str) -> BusFactory:
    """``async with process(pm) as bus`` — the bus of one more process on the server."""

    @asynccontextmanager
    async def make(
        pm: pluggy.PluginManager | None = None, *, server: str = nats_server, at: str = prefix
    ) -> AsyncIterator[EventBus]:
        transport = NatsEventTransport([server], at, connect_timeout=5, reconnect_wait=0.1)
        async with EventBus(pm or bare_pm(), transport) as bus:
            yield bus

    return make


async def test_an_event_reaches_every_process_typed_and_local_observers_once(
    process: BusFactory,
) -> None:
    pm_worker, pm_api = bare_pm(), bare_pm()
    worker_seen, api_seen = Seen(), Seen()
    pm_worker.register(worker_seen, name="seen")
    pm_api.register(api_seen, name="seen")
    async with (
        process(pm_worker) as worker,
        process(pm_api) as api,
        api.subscribe() as remote,
        worker.subscribe() as local,
    ):
        worker.emit(created(1))
        worker.emit(changed())
        assert [await remote.next(timeout=5) for _ in range(2)] == [created(1), changed()]
        # The emitting process's own subscriptions get it once, back from NATS.
        assert [await local.next(timeout=5) for _ in range(2)] == [created(1), changed()]
        await worker.flush()
        await api.flush()
    assert worker_seen.events == [created(1), changed()]  # once, not again from NATS
    assert api_seen.events == []  # observers see the events of their own process


async def test_a_subscription_asks_nats_for_its_kinds_only(process: BusFactory) -> None:
    async with (
        process() as worker,
        process() as api,
        api.subscribe([EventKind.JOB_CHANGED]) as jobs,
    ):
        assert isinstance(api.transport, NatsEventTransport)
        worker.emit(created(1))
        worker.emit(changed("b"))
        assert await jobs.next(timeout=5) == changed("b")
        with pytest.raises(TimeoutError):
            await jobs.next(timeout=0.2)


async def test_installations_on_one_server_stay_apart(process: BusFactory, prefix: str) -> None:
    async with (
        process() as ours,
        process(at=prefix + "x") as theirs,
        ours.subscribe() as events,
    ):
        theirs.emit(created(9))
        ours.emit(created(1))
        assert await events.next(timeout=5) == created(1)
        with pytest.raises(TimeoutError):
            await events.next(timeout=0.2)


async def test_what_is_not_an_event_is_skipped(
    process: BusFactory, nats_server: str, prefix: str
) -> None:
    nc = await connect_admin(nats_server)
    try:
        async with process() as api, api.subscribe() as events:
            await nc.publish(f"{prefix}.execution.created", b"{not json")
            await nc.publish(f"{prefix}.execution.exploded", b'{"kind": "execution.exploded"}')
            await nc.flush()
            api.emit(created(2))
            assert await events.next(timeout=5) == created(2)
            assert isinstance(api.transport, NatsEventTransport)
            assert api.transport.undecodable == 2
    finally:
        await nc.close()


async def test_a_nats_outage_never_blocks_or_fails_the_emitter(
    process: BusFactory, nats_server: str
) -> None:
    host, port = nats_server.removeprefix("nats://").split(":")
    proxy = TcpProxy(host, int(port))
    await proxy.start()
    async with process(server=proxy.url) as worker, process() as api, api.subscribe() as events:
        worker.emit(created(1))
        assert await events.next(timeout=5) == created(1)
        await proxy.cut()
        for n in range(100):
            worker.emit(created(n))  # buffered by the client, or dropped: never raised
        await worker.flush()
        await proxy.restore()
        # After the reconnect, events flow again (what was buffered may arrive first).

        async def arrives(n: int) -> bool:
            worker.emit(created(n))
            try:
                while True:
                    event = await events.next(timeout=0.5)
                    if isinstance(event, ExecutionCreated) and event.execution_id == f"e{n}":
                        return True
            except TimeoutError:
                return False

        for attempt in range(1000, 1040):
            if await arrives(attempt):
                break
        else:
            raise AssertionError("events did not flow again after the link came back")
    await proxy.cut()


def test_the_transport_follows_the_queue_url() -> None:
    transport = open_event_transport(
        "nats://app:pw@10.0.0.1:4222,10.0.0.2:4222?stream=S&subject=acme.jobs"
    )
    assert isinstance(transport, NatsEventTransport)
    assert transport.servers == ["nats://app:pw@10.0.0.1:4222", "nats://app:pw@10.0.0.2:4222"]
    assert transport.prefix == "acme.jobs.events"
    assert transport.subject(EventKind.EXECUTION_FINISHED) == "acme.jobs.events.execution.finished"
    assert type(open_event_transport("memory://")).__name__ == "MemoryTransport"

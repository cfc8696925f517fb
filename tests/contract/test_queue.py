"""The queue contract, on the embedded ``memory://`` queue and on NATS JetStream alike.

The ``test_*`` tests without a backend in their name run on both; what only a broker with
acknowledgement deadlines and de-duplication promises (ack_wait redelivery, in-progress
acks, ``Nats-Msg-Id`` de-duplication, max_deliver, the dead-letter subject, riding out a
broken connection) is in ``test_nats_*``. Every NATS test gets its own stream, subject
and durable. The NATS server must be up (``bash .ci/services.sh``); if it is not, the
NATS tests fail.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig

from tests.support.nats_fixtures import (  # noqa: F401 - fixtures
    NatsUrlFactory,
    TcpProxy,
    nats_admin_fixture,
    nats_server_fixture,
    nats_url_factory_fixture,
)
from vecron.errors import BackendUnavailable, ConfigurationError
from vecron.queue import Delivery, Queue, QueueMessage, open_queue
from vecron.queue.memory import MemoryQueue
from vecron.queue.nats import NatsQueue, decode_message, encode_message, message_id

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def msg(n: int | str, attempt: int = 0, **kw: bool) -> QueueMessage:
    return QueueMessage(f"exec-{n}", NOW + timedelta(seconds=1), attempt, **kw)


async def drain(queue: Queue, *, timeout: float = 0.5, ack: bool = True) -> list[QueueMessage]:
    """Everything the queue hands out until a fetch comes back empty."""
    out: list[QueueMessage] = []
    while deliveries := await queue.fetch(100, timeout):
        for d in deliveries:
            out.append(d.message)
            if ack:
                await d.ack()
    return out


@pytest.fixture
async def opened() -> AsyncIterator[list[Queue]]:
    queues: list[Queue] = []
    yield queues
    for q in queues:
        await q.close()


async def start(url: str, opened: list[Queue]) -> Queue:
    queue = open_queue(url)
    await queue.start()
    opened.append(queue)
    return queue


@pytest.fixture(params=["memory", "nats"])
def queue_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    factory: NatsUrlFactory = request.getfixturevalue("nats_url_factory")
    return factory()


@pytest.fixture
async def queue(queue_url: str, opened: list[Queue]) -> Queue:
    return await start(queue_url, opened)


# -- the contract: every backend ------------------------------------------------------


async def test_open_queue_picks_the_backend_by_scheme(queue: Queue, queue_url: str) -> None:
    expected = MemoryQueue if queue_url.startswith("memory") else NatsQueue
    assert type(queue) is expected
    assert queue.url == queue_url


async def test_publish_then_fetch_returns_the_message(queue: Queue) -> None:
    sent = msg(1, attempt=3)
    await queue.publish([sent])
    deliveries = await queue.fetch(10, timeout=5)
    assert [d.message for d in deliveries] == [sent]
    await deliveries[0].ack()


async def test_ack_removes_the_message(queue: Queue) -> None:
    await queue.publish([msg(1)])
    [delivery] = await queue.fetch(10, timeout=5)
    await delivery.ack()
    await delivery.ack()  # a second ack is harmless
    assert await queue.fetch(10, timeout=0.3) == []


async def test_nak_redelivers_at_once(queue: Queue) -> None:
    await queue.publish([msg(1)])
    [first] = await queue.fetch(10, timeout=5)
    await first.nak()
    again = await queue.fetch(10, timeout=5)
    assert [d.message for d in again] == [msg(1)]
    await again[0].ack()
    assert await queue.fetch(10, timeout=0.3) == []


async def test_nak_with_delay_redelivers_only_after_the_delay(queue: Queue) -> None:
    await queue.publish([msg(1)])
    [first] = await queue.fetch(10, timeout=5)
    naked_at = time.monotonic()
    await first.nak(delay=1.5)
    assert await queue.fetch(10, timeout=0.5) == []
    again = await queue.fetch(10, timeout=5)
    assert [d.message for d in again] == [msg(1)]
    assert time.monotonic() - naked_at >= 1.4  # never earlier than asked
    await again[0].ack()


async def test_fetch_honours_max_messages(queue: Queue) -> None:
    await queue.publish([msg(i) for i in range(5)])
    first = await queue.fetch(2, timeout=5)
    assert len(first) == 2
    rest = await drain(queue)
    for d in first:
        await d.ack()
    assert sorted(m.execution_id for m in [d.message for d in first] + rest) == [
        f"exec-{i}" for i in range(5)
    ]


async def test_fetch_on_an_empty_queue_returns_nothing_after_the_timeout(queue: Queue) -> None:
    async with asyncio.timeout(10):  # "at most timeout": it must come back, not block
        assert await queue.fetch(10, timeout=0.3) == []
    assert await queue.fetch(0, timeout=0.1) == []


async def test_fetch_wakes_up_for_a_message_published_while_it_waits(queue: Queue) -> None:
    waiting = asyncio.create_task(queue.fetch(10, timeout=8))
    await asyncio.sleep(0.3)
    await queue.publish([msg(1)])
    deliveries = await waiting
    assert [d.message for d in deliveries] == [msg(1)]
    await deliveries[0].ack()


async def test_every_published_message_is_delivered_once(queue: Queue) -> None:
    sent = [msg(i, attempt=i % 3) for i in range(1_200)]
    for start_at in range(0, len(sent), 500):
        await queue.publish(sent[start_at : start_at + 500])
    got = await drain(queue)
    assert len(got) == len(sent)
    assert set(got) == set(sent)


async def test_in_progress_then_ack_ends_the_delivery(queue: Queue) -> None:
    await queue.publish([msg(1)])
    [delivery] = await queue.fetch(10, timeout=5)
    await delivery.in_progress()
    await delivery.in_progress()
    await delivery.ack()
    assert await queue.fetch(10, timeout=0.3) == []


async def test_a_started_queue_answers_ping(queue: Queue) -> None:
    await queue.ping()


async def test_dead_letter_never_reaches_the_workers(queue: Queue) -> None:
    await queue.dead_letter("exec-1", "failed 5 times")
    assert await queue.fetch(10, timeout=0.3) == []


# -- NATS: the codec ------------------------------------------------------------------


@given(
    execution_id=st.text(min_size=1, max_size=40),
    not_before=st.datetimes(timezones=st.just(UTC)),
    attempt=st.integers(min_value=0, max_value=10_000),
)
def test_nats_payload_round_trips(execution_id: str, not_before: datetime, attempt: int) -> None:
    message = QueueMessage(execution_id, not_before, attempt)
    assert decode_message(encode_message(message)) == message
    assert message_id(message) == f"{execution_id}:{attempt}"


@pytest.mark.parametrize(
    "data",
    [b"", b"{}", b"[1]", b'{"execution_id": 1, "not_before": "2026-01-01T00:00:00"}', b"\xff"],
)
def test_nats_payload_rejects_what_is_not_a_message(data: bytes) -> None:
    with pytest.raises(ValueError, match="not a vecron queue message"):
        decode_message(data)


# -- NATS: URL options ----------------------------------------------------------------


def test_nats_url_defaults() -> None:
    queue = open_queue("nats://127.0.0.1:4222")
    assert isinstance(queue, NatsQueue)
    s = queue.settings
    assert (s.stream, s.subject, s.durable, s.dlq_subject) == (
        "VECRON",
        "vecron.executions",
        "vecron-workers",
        "vecron.executions.dlq",
    )
    assert (s.ack_wait, s.max_deliver, s.duplicate_window) == (60.0, 20, 120.0)
    assert s.servers == ["nats://127.0.0.1:4222"]


def test_nats_url_with_credentials_and_two_servers() -> None:
    queue = NatsQueue("nats://u:p@a:4222,b:4223?ack_wait=5&max_deliver=3")
    assert queue.settings.servers == ["nats://u:p@a:4222", "nats://u:p@b:4223"]
    assert (queue.settings.ack_wait, queue.settings.max_deliver) == (5.0, 3)


@pytest.mark.parametrize(
    "query",
    [
        "ack_wait=soon",
        "ack_wait=0",
        "duplicate_window=30",
        "max_deliver=0",
        "stream=has.dot",
        "durable=a b",
        "subject=vecron.*",
        "max_age=60",
        "colour=blue",
    ],
)
def test_nats_url_options_are_checked(query: str) -> None:
    with pytest.raises(ConfigurationError):
        NatsQueue(f"nats://127.0.0.1:4222?{query}")


async def test_nats_start_fails_fast_when_nobody_listens() -> None:
    queue = NatsQueue("nats://127.0.0.1:9?connect_timeout=1")
    started = time.monotonic()
    with pytest.raises(BackendUnavailable, match="cannot connect to NATS"):
        await queue.start()
    assert time.monotonic() - started < 10
    with pytest.raises(BackendUnavailable, match="not connected"):
        await queue.ping()
    await queue.close()  # nothing opened: a no-op


# -- NATS: stream and consumer set-up -------------------------------------------------


async def test_nats_start_creates_the_stream_and_durable_pull_consumer(
    nats_url_factory: NatsUrlFactory, nats_admin: JetStreamContext, opened: list[Queue]
) -> None:
    url = nats_url_factory(ack_wait=7, max_deliver=4)
    queue = await start(url, opened)
    assert isinstance(queue, NatsQueue)
    s = queue.settings
    stream = await nats_admin.stream_info(s.stream)
    assert stream.config.subjects == [s.subject, s.dlq_subject]
    assert stream.config.storage == "file"
    assert stream.config.retention == "workqueue"  # an ack removes the message
    assert stream.config.duplicate_window == 120
    consumer = await nats_admin.consumer_info(s.stream, s.durable)
    assert consumer.config.durable_name == s.durable
    assert consumer.config.ack_policy == "explicit"
    assert (consumer.config.ack_wait, consumer.config.max_deliver) == (7, 4)
    assert consumer.config.filter_subject == s.subject
    assert consumer.config.deliver_subject is None  # pull


async def test_nats_start_again_updates_the_consumer(
    nats_url_factory: NatsUrlFactory, nats_admin: JetStreamContext, opened: list[Queue]
) -> None:
    url = nats_url_factory(ack_wait=30)
    first = await start(url, opened)
    await first.publish([msg(1)])
    second = await start(url.replace("ack_wait=30", "ack_wait=9"), opened)
    assert isinstance(second, NatsQueue)
    consumer = await nats_admin.consumer_info(second.settings.stream, second.settings.durable)
    assert consumer.config.ack_wait == 9
    assert [m.execution_id for m in await drain(second)] == ["exec-1"]  # nothing lost


async def test_nats_workers_on_one_durable_share_the_messages(
    nats_url_factory: NatsUrlFactory, opened: list[Queue]
) -> None:
    url = nats_url_factory()
    one, two = await start(url, opened), await start(url, opened)
    sent = [msg(i) for i in range(300)]
    await one.publish(sent)
    got: list[QueueMessage] = []
    for _ in range(50):
        batch = await one.fetch(20, 0.3) + await two.fetch(20, 0.3)
        if not batch:
            break
        for d in batch:
            got.append(d.message)
            await d.ack()
    assert sorted(got, key=lambda m: m.execution_id) == sorted(sent, key=lambda m: m.execution_id)


# -- NATS: acknowledgement deadlines ----------------------------------------------------


async def test_nats_unacked_message_comes_back_after_ack_wait(
    nats_url_factory: NatsUrlFactory, opened: list[Queue]
) -> None:
    url = nats_url_factory(ack_wait=1)
    worker, other = await start(url, opened), await start(url, opened)
    await worker.publish([msg(1)])
    [held] = await worker.fetch(10, timeout=5)
    assert held.message == msg(1)
    # "the worker died": it never answers; the other worker gets it after ack_wait.
    again = await other.fetch(10, timeout=6)
    assert [d.message for d in again] == [msg(1)]
    await again[0].ack()
    await held.ack()  # a late ack of the first delivery changes nothing
    assert await other.fetch(10, timeout=1.5) == []


async def test_nats_acked_message_does_not_come_back_after_ack_wait(
    nats_url_factory: NatsUrlFactory, opened: list[Queue]
) -> None:
    queue = await start(nats_url_factory(ack_wait=1), opened)
    await queue.publish([msg(1), msg(2)])
    deliveries = await queue.fetch(10, timeout=5)
    assert len(deliveries) == 2
    await deliveries[0].ack()  # the other one is left to ack_wait
    back = await queue.fetch(10, timeout=4)
    assert [d.message for d in back] == [deliveries[1].message]
    await back[0].ack()
    assert await queue.fetch(10, timeout=2) == []


async def test_nats_in_progress_extends_ack_wait(
    nats_url_factory: NatsUrlFactory, opened: list[Queue]
) -> None:
    url = nats_url_factory(ack_wait=1)
    worker, other = await start(url, opened), await start(url, opened)
    await worker.publish([msg(1)])
    [held] = await worker.fetch(10, timeout=5)
    for _ in range(8):  # 2.4 s of work, well past ack_wait, reporting progress
        await held.in_progress()
        assert await other.fetch(10, timeout=0.3) == []
    await held.ack()
    assert await other.fetch(10, timeout=1.5) == []


async def test_nats_max_deliver_stops_redelivery(
    nats_url_factory: NatsUrlFactory, opened: list[Queue]
) -> None:
    queue = await start(nats_url_factory(max_deliver=2), opened)
    await queue.publish([msg(1)])
    for _ in range(2):
        [delivery] = await queue.fetch(10, timeout=5)
        await delivery.nak()
    assert await queue.fetch(10, timeout=1) == []


# -- NATS: de-duplication -------------------------------------------------------------


async def test_nats_same_attempt_published_twice_is_delivered_once(
    nats_url_factory: NatsUrlFactory, opened: list[Queue]
) -> None:
    queue = await start(nats_url_factory(), opened)
    await queue.publish([msg(1), msg(2)])
    await queue.publish([msg(1)])  # a scheduler retrying a publish it thinks failed
    first = await drain(queue)
    assert sorted(m.execution_id for m in first) == ["exec-1", "exec-2"]
    await queue.publish([msg(1)])  # still inside the window, even after the ack
    assert await drain(queue) == []
    await queue.publish([msg(1, attempt=1)])  # a retry of the execution is new work
    assert await drain(queue) == [msg(1, attempt=1)]


async def test_nats_resend_gets_past_deduplication(
    nats_url_factory: NatsUrlFactory, opened: list[Queue]
) -> None:
    queue = await start(nats_url_factory(), opened)
    await queue.publish([msg(1)])
    assert await drain(queue) == [msg(1)]
    await queue.publish([msg(1, resend=True)])  # the reconciler: the first one was lost
    assert [m.execution_id for m in await drain(queue)] == ["exec-1"]


# -- NATS: dead letters ---------------------------------------------------------------


async def test_nats_dead_letter_lands_on_the_dlq_subject(
    nats_url_factory: NatsUrlFactory, nats_admin: JetStreamContext, opened: list[Queue]
) -> None:
    queue = await start(nats_url_factory(), opened)
    assert isinstance(queue, NatsQueue)
    s = queue.settings
    await queue.dead_letter("exec-9", "HTTP 500 five times")
    sub = await nats_admin.pull_subscribe(
        s.dlq_subject, stream=s.stream, config=ConsumerConfig(filter_subject=s.dlq_subject)
    )
    [letter] = await sub.fetch(1, timeout=5)
    await letter.ack()
    body = json.loads(letter.data)
    assert body["execution_id"] == "exec-9"
    assert body["reason"] == "HTTP 500 five times"
    assert datetime.fromisoformat(body["at"]).tzinfo is not None
    assert await queue.fetch(10, timeout=0.3) == []  # workers never see it


# -- NATS: broker trouble -------------------------------------------------------------


async def test_nats_publish_fails_loudly_then_recovers_when_the_stream_is_gone(
    nats_url_factory: NatsUrlFactory, nats_admin: JetStreamContext, opened: list[Queue]
) -> None:
    url = nats_url_factory()
    scheduler, worker = await start(url, opened), await start(url, opened)
    assert isinstance(scheduler, NatsQueue)
    await nats_admin.delete_stream(scheduler.settings.stream)  # e.g. a server that lost its disk
    with pytest.raises(BackendUnavailable, match="did not store"):
        await scheduler.publish([msg(1)])
    for _ in range(3):
        assert await worker.fetch(10, timeout=0.3) == []  # the worker loop goes on
    await scheduler.publish([msg(1)])  # the scheduler's retry on its next tick
    assert await drain(worker, timeout=1) == [msg(1)]
    await scheduler.publish([msg(2)])
    assert await drain(scheduler, timeout=1) == [msg(2)]


async def test_nats_rides_out_a_broken_connection(
    nats_url_factory: NatsUrlFactory, nats_server: str, opened: list[Queue]
) -> None:
    upstream = urlsplit(nats_server)
    proxy = TcpProxy(upstream.hostname or "127.0.0.1", upstream.port or 4222)
    await proxy.start()
    try:
        url = nats_url_factory(server=proxy.url, reconnect_wait=0.2, publish_timeout=1)
        queue = await start(url, opened)
        await queue.publish([msg(1)])
        assert await drain(queue) == [msg(1)]

        await proxy.cut()
        assert await queue.fetch(10, timeout=0.3) == []  # the worker loop goes on
        with pytest.raises(BackendUnavailable):  # /readyz says so
            await queue.ping()
        with pytest.raises(BackendUnavailable):
            await queue.publish([msg(2)])  # no PubAck: the execution stays unpublished
        await proxy.restore()

        async with asyncio.timeout(30):  # the scheduler retries the publish each tick
            while True:
                try:
                    await queue.publish([msg(2)])
                    break
                except BackendUnavailable:
                    await asyncio.sleep(0.2)
        delivered: list[Delivery] = []
        async with asyncio.timeout(30):
            while not delivered:
                delivered = await queue.fetch(10, timeout=1)
        await delivered[0].ack()
        await queue.ping()
        # The publish lost in the outage may have reached the server after all; the
        # retry carried the same Nats-Msg-Id, so exec-2 arrives exactly once.
        rest = await drain(queue, timeout=1)
        assert [d.message for d in delivered] + rest == [msg(2)]
    finally:
        await proxy.cut()

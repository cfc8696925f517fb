"""``nats://``: a NATS JetStream work queue shared by schedulers and workers.

    nats://host:port[,host2:port2][?stream=VECRON&subject=vecron.executions
        &durable=vecron-workers&ack_wait=60&max_deliver=20&duplicate_window=120]

The URL and its options: :mod:`vecron.queue.natsurl`; the message payload and its
de-duplication id: :mod:`vecron.queue.messages`.

One file-backed work-queue stream holds ``<subject>`` (executions to run) and
``<subject>.dlq`` (dead-letter announcements); every worker pulls from one durable
consumer with explicit acks, so each message goes to one worker at a time and comes back
after ``ack_wait`` if that worker dies. The store stays the truth (reliability D1): a
worker claims the execution there before running it, so a redelivery is harmless.

Each message carries ``Nats-Msg-Id: <execution_id>:<attempt>``: the server drops a second
publish of the same attempt inside ``duplicate_window`` (a scheduler retrying a publish
whose PubAck it never saw), while a retry of the execution is a new attempt and a new
message. The reconciler's re-sends carry no id, because the message they replace may
have been consumed inside the window.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from vecron.errors import BackendUnavailable, ConfigurationError
from vecron.events.natsconnection import ConnectionWatch, connect
from vecron.queue.base import Delivery, Queue, QueueMessage
from vecron.queue.messages import MSG_ID_HEADER as MSG_ID_HEADER
from vecron.queue.messages import decode_message as decode_message
from vecron.queue.messages import encode_message as encode_message
from vecron.queue.messages import message_id as message_id
from vecron.queue.natsurl import NatsSettings as NatsSettings
from vecron.telemetry import get_logger

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.aio.msg import Msg
    from nats.js.client import JetStreamContext

log = get_logger("vecron.queue.nats")

#: After a broken fetch, wait this long so a worker loop does not spin while the
#: client reconnects.
FETCH_ERROR_PAUSE = 0.5


class _NatsDelivery(Delivery):
    __slots__ = ("_msg", "message")

    def __init__(self, msg: Msg, message: QueueMessage) -> None:
        self._msg = msg
        self.message = message

    async def ack(self) -> None:
        await self._reply("ack")

    async def nak(self, delay: float = 0.0) -> None:
        await self._reply("nak", delay)

    async def in_progress(self) -> None:
        await self._reply("in_progress")

    async def _reply(self, kind: str, delay: float = 0.0) -> None:
        """Acks are fire-and-forget: one the server never sees ends in a redelivery after
        ``ack_wait``, which the store's claim turns into a no-op. So a broken connection
        is logged here, never raised into the worker."""
        from nats.errors import Error as NatsError

        if self._msg.is_acked:  # one terminal reply per delivery
            return
        try:
            if kind == "ack":
                await self._msg.ack()
            elif kind == "nak":
                await self._msg.nak(delay=delay if delay > 0 else None)
            else:
                await self._msg.in_progress()
        except NatsError as exc:
            log.warning(
                "queue reply not sent",
                reply=kind,
                execution_id=self.message.execution_id,
                error=f"{type(exc).__name__}: {exc}",
            )


class NatsQueue(Queue):
    def __init__(self, url: str) -> None:
        self.url = url
        self.settings = NatsSettings(url)
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._sub: JetStreamContext.PullSubscription | None = None
        self._ready = False  # stream, consumer and subscription set up
        self._setup_lock = asyncio.Lock()
        self._watch = ConnectionWatch(log, "NATS connection")

    # -- lifecycle ----------------------------------------------------------------
    async def start(self) -> None:
        s = self.settings
        nc = await connect(
            s.servers,
            user="the nats:// queue",
            name="vecron",
            watch=self._watch,
            connect_timeout=s.connect_timeout,
            reconnect_wait=s.reconnect_wait,
            hint="start nats-server with JetStream (-js) or fix queue_url",
        )
        self._nc = nc
        self._js = nc.jetstream(timeout=s.publish_timeout)
        try:
            await self._setup()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        nc, self._nc, self._js, self._sub = self._nc, None, None, None
        self._ready = False
        if nc is None or nc.is_closed:
            return
        self._watch.closing = True
        try:
            # Acks are buffered writes: a flush (PING/PONG) makes sure the ones already
            # sent reach the server before the socket closes. (No drain: it waits for
            # the pull subscription's buffer to be consumed, which never happens.)
            await nc.flush(timeout=5)
        except Exception as exc:  # closing anyway: unacked messages come back by ack_wait
            log.warning("NATS flush before close failed", error=f"{type(exc).__name__}: {exc}")
        finally:
            await nc.close()

    async def _setup(self) -> None:
        """Create or update the stream and the durable consumer, and bind the pull
        subscription (again, after the stream was lost)."""
        import nats.js.errors
        from nats.js.api import (
            AckPolicy,
            ConsumerConfig,
            DiscardPolicy,
            RetentionPolicy,
            StorageType,
            StreamConfig,
        )

        js = self._jetstream()
        s = self.settings
        stream = StreamConfig(
            name=s.stream,
            subjects=[s.subject, s.dlq_subject],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE,
            # Refuse new work when full rather than silently dropping queued work.
            discard=DiscardPolicy.NEW,
            duplicate_window=s.duplicate_window,
            max_age=s.max_age if s.max_age > 0 else None,
        )
        try:
            try:
                await js.add_stream(stream)
            except nats.js.errors.BadRequestError:  # exists: bring it to this config
                await js.update_stream(stream)
            consumer = ConsumerConfig(
                name=s.durable,
                durable_name=s.durable,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=s.ack_wait,
                max_deliver=s.max_deliver,
                max_ack_pending=s.max_ack_pending,
                filter_subject=s.subject,
            )
            await js.add_consumer(s.stream, consumer)
            if self._sub is not None:  # bound before the stream was lost
                with contextlib.suppress(Exception):
                    await self._sub.unsubscribe()
                self._sub = None
            self._sub = await js.pull_subscribe_bind(durable=s.durable, stream=s.stream)
            self._ready = True
        except nats.js.errors.APIError as exc:
            raise ConfigurationError(
                f"NATS refused stream {s.stream!r} / consumer {s.durable!r}: {exc}",
                field="queue_url",
                hint="another stream may hold the subject, or the stream has an incompatible "
                "retention; pick another stream= or delete the old one",
            ) from exc
        except (TimeoutError, nats.errors.Error) as exc:
            raise BackendUnavailable(
                f"NATS JetStream did not answer: {type(exc).__name__} {exc}".strip(),
                hint="is JetStream enabled (nats-server -js)?",
            ) from exc

    async def _ensure_setup(self) -> JetStreamContext.PullSubscription:
        """The pull subscription, set up again if the stream or consumer was lost."""
        if not self._ready:
            async with self._setup_lock:
                if not self._ready:
                    await self._setup()
        assert self._sub is not None
        return self._sub

    def _jetstream(self) -> JetStreamContext:
        if self._js is None:
            raise BackendUnavailable("the NATS queue is not started", hint="call start() first")
        return self._js

    # -- the queue ------------------------------------------------------------------
    async def publish(self, messages: Sequence[QueueMessage]) -> None:
        """Publish all at once and return when every PubAck is in; otherwise raise
        ``BackendUnavailable`` and the caller keeps the executions unpublished."""
        if not messages:
            return
        import nats.errors

        js = self._jetstream()
        s = self.settings
        futures: list[asyncio.Future[Any]] = []
        try:
            async with asyncio.timeout(s.publish_timeout):
                await self._ensure_setup()
                for message in messages:
                    headers = None if message.resend else {MSG_ID_HEADER: message_id(message)}
                    futures.append(
                        await js.publish_async(
                            s.subject, encode_message(message), stream=s.stream, headers=headers
                        )
                    )
                await asyncio.gather(*futures)
        except (TimeoutError, nats.errors.Error, BackendUnavailable, ConfigurationError) as exc:
            if _lost_stream(exc):
                self._ready = False
            raise BackendUnavailable(
                f"NATS did not store {len(messages)} message(s): "
                f"{type(exc).__name__} {exc}".strip(),
                hint="the executions stay unpublished and are sent again",
            ) from exc
        finally:
            for future in futures:  # frees the client's pending-ack slots of the rest
                future.cancel()

    async def fetch(self, max_messages: int, timeout: float) -> list[Delivery]:
        import nats.errors

        if max_messages < 1:
            return []
        try:
            sub = await self._ensure_setup()
            msgs = await sub.fetch(max_messages, timeout=max(timeout, 0.01))
        except TimeoutError:  # nothing arrived (nats' TimeoutError is one too)
            return []
        except (nats.errors.Error, BackendUnavailable, ConfigurationError) as exc:
            # A fetch during a reconnect, or a consumer lost with its stream: the worker
            # loop goes on; the next fetch sets the stream up again if it is gone.
            log.warning("NATS fetch failed", error=f"{type(exc).__name__}: {exc}")
            if _lost_stream(exc):
                self._ready = False
            await asyncio.sleep(FETCH_ERROR_PAUSE)
            return []
        out: list[Delivery] = []
        for msg in msgs:
            try:
                out.append(_NatsDelivery(msg, decode_message(msg.data)))
            except ValueError as exc:
                # Nobody can run it: redelivering it would only come back here.
                log.error("dropping a malformed queue message", error=str(exc))
                await _NatsDelivery(msg, _UNREADABLE).ack()
        return out

    async def ping(self) -> None:
        """Ready means connected and JetStream answering (a reconnecting client is not)."""
        import nats.errors

        nc = self._nc
        if nc is None or not nc.is_connected:
            raise BackendUnavailable(
                "NATS is not connected" + (" (reconnecting)" if nc is not None else ""),
                hint="is nats-server running?",
            )
        try:
            await self._jetstream().account_info()
        except (TimeoutError, nats.errors.Error) as exc:
            raise BackendUnavailable(
                f"NATS JetStream did not answer: {type(exc).__name__} {exc}".strip()
            ) from exc

    async def dead_letter(self, execution_id: str, reason: str) -> None:
        import nats.errors

        body = json.dumps(
            {
                "execution_id": execution_id,
                "reason": reason,
                "at": datetime.now(UTC).isoformat(),
            },
            separators=(",", ":"),
        ).encode()
        try:
            js = self._jetstream()
            await js.publish(
                self.settings.dlq_subject,
                body,
                stream=self.settings.stream,
                timeout=self.settings.publish_timeout,
            )
        except (TimeoutError, nats.errors.Error, BackendUnavailable) as exc:
            log.warning(
                "dead-letter announcement not published",
                execution_id=execution_id,
                error=f"{type(exc).__name__}: {exc}",
            )


_UNREADABLE = QueueMessage("", datetime.min.replace(tzinfo=UTC))


def _lost_stream(exc: BaseException) -> bool:
    """Does ``exc`` say the stream or consumer is gone (deleted, or a server that lost
    its state), so the next call should set them up again?"""
    import nats.js.errors

    if isinstance(exc, BackendUnavailable | ConfigurationError):
        return True
    if isinstance(exc, nats.js.errors.NoStreamResponseError):  # nobody stores the subject
        return True
    # 404 / 409 "Consumer Deleted" from a pull request.
    return isinstance(exc, nats.js.errors.APIError) and exc.code in (404, 409)

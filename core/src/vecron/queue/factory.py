"""Pick a queue backend by URL scheme."""

from __future__ import annotations

from vecron.errors import ConfigurationError
from vecron.queue.base import Queue
from vecron.urls import redact_url


def open_queue(url: str) -> Queue:
    scheme = url.split("://", 1)[0]
    if scheme == "memory":
        from vecron.queue.memory import MemoryQueue

        return MemoryQueue(url)
    if scheme == "nats":
        from vecron.queue.nats import NatsQueue

        return NatsQueue(url)
    raise ConfigurationError(
        f"unsupported queue URL {redact_url(url)!r}", hint="use memory:// or nats://host:4222"
    )

"""What a ``nats://`` queue URL asks for, checked before anything connects.

nats://[user:password@]host:port[,host2:port2][?stream=VECRON&subject=vecron.executions
    &durable=vecron-workers&ack_wait=60&max_deliver=20&duplicate_window=120]
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from vecron.errors import ConfigurationError
from vecron.urls import redact_url

#: The scheduler retries an unacknowledged publish on a later tick; the window must
#: outlast that, or a retried publish is stored twice.
MIN_DUPLICATE_WINDOW = 120.0

_INT_OPTIONS = ("max_deliver", "max_ack_pending")
_FLOAT_OPTIONS = (
    "ack_wait",
    "duplicate_window",
    "max_age",
    "publish_timeout",
    "connect_timeout",
    "reconnect_wait",
)


class NatsSettings:
    """What a ``nats://`` URL asks for, checked before anything connects."""

    __slots__ = (
        "ack_wait",
        "connect_timeout",
        "duplicate_window",
        "durable",
        "max_ack_pending",
        "max_age",
        "max_deliver",
        "publish_timeout",
        "reconnect_wait",
        "servers",
        "stream",
        "subject",
    )

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "nats" or not parts.netloc:
            raise ConfigurationError(
                f"not a NATS URL: {redact_url(url)!r}", hint="use nats://host:4222[?stream=...]"
            )
        credentials, _, hosts = parts.netloc.rpartition("@")
        prefix = f"nats://{credentials}@" if credentials else "nats://"
        self.servers = [prefix + host for host in hosts.split(",") if host]
        self.stream = "VECRON"
        self.subject = "vecron.executions"
        self.durable = "vecron-workers"
        self.ack_wait = 60.0
        self.max_deliver = 20
        self.duplicate_window = MIN_DUPLICATE_WINDOW
        self.max_ack_pending = 20_000
        # Messages live seconds; a week bounds what a forgotten stream keeps on disk. The
        # store's reconciler re-sends whatever was queued and never claimed.
        self.max_age = 7 * 24 * 3600.0
        self.publish_timeout = 10.0
        self.connect_timeout = 10.0
        self.reconnect_wait = 1.0
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            self._set(key, value)
        self._check()

    def _set(self, key: str, value: str) -> None:
        if key in ("stream", "subject", "durable"):
            setattr(self, key, value)
        elif key in _INT_OPTIONS or key in _FLOAT_OPTIONS:
            kind = int if key in _INT_OPTIONS else float
            try:
                setattr(self, key, kind(value))
            except ValueError:
                raise ConfigurationError(
                    f"{key}={value!r} is not a number", field=f"queue_url.{key}"
                ) from None
        else:
            raise ConfigurationError(
                f"unknown NATS queue option {key!r}",
                field="queue_url",
                hint="options: stream, subject, durable, "
                + ", ".join(_INT_OPTIONS + _FLOAT_OPTIONS),
            )

    def _check(self) -> None:
        for name in ("stream", "durable"):
            value: str = getattr(self, name)
            if not value or any(c in value for c in ".*> \t"):
                raise ConfigurationError(
                    f"{name}={value!r}: a NATS name has no '.', '*', '>' or spaces",
                    field=f"queue_url.{name}",
                )
        if not self.subject or any(c in self.subject for c in "*> \t"):
            raise ConfigurationError(
                f"subject={self.subject!r}: one literal subject, no wildcards",
                field="queue_url.subject",
            )
        if self.duplicate_window < MIN_DUPLICATE_WINDOW:
            raise ConfigurationError(
                f"duplicate_window={self.duplicate_window:g} s is too short",
                field="queue_url.duplicate_window",
                hint=f"at least {MIN_DUPLICATE_WINDOW:g} s, so retried publishes are dropped",
            )
        if 0 < self.max_age < self.duplicate_window:
            raise ConfigurationError(
                "max_age must be at least duplicate_window", field="queue_url.max_age"
            )
        if self.max_deliver == 0 or self.max_deliver < -1:
            raise ConfigurationError(
                "max_deliver must be positive (or -1: unlimited)", field="queue_url.max_deliver"
            )
        for name in ("ack_wait", "publish_timeout", "connect_timeout", "reconnect_wait"):
            if getattr(self, name) <= 0:
                raise ConfigurationError(f"{name} must be positive", field=f"queue_url.{name}")

    @property
    def dlq_subject(self) -> str:
        return f"{self.subject}.dlq"

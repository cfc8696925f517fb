"""Wiring: settings → plugins, backends and services, opened and closed together."""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from types import TracebackType
from typing import Any

import pluggy

from vecron.alerts.alerter import Alerter
from vecron.alerts.delivery import Deliveries
from vecron.breaker import open_breaker
from vecron.errors import ConfigurationError
from vecron.events import EventBus, EventTransport, MemoryTransport
from vecron.execution.worker import Worker
from vecron.jobs.context import JobContextStore
from vecron.lock import Lock, open_lock
from vecron.metrics import Metrics
from vecron.plugin.egress import DatabaseServer, EgressPolicy
from vecron.plugin.manager import build_registry, get_plugin_manager
from vecron.plugin.registry import Registry
from vecron.queue import Queue, open_queue
from vecron.scheduling.fixed_delay import FixedDelay
from vecron.scheduling.scheduler import Scheduler
from vecron.scheduling.wakeup import Wakeup
from vecron.secretkey import key_file_path, secret_box
from vecron.services.alerts import AlertService
from vecron.services.audit import AuditService, Gate
from vecron.services.executions import ExecutionService
from vecron.services.files import ExecutionFileService
from vecron.services.jobs import JobService
from vecron.services.plugins import PluginService
from vecron.services.schedules import ScheduleService
from vecron.services.triggers import TriggerService
from vecron.services.variables import VariableService
from vecron.settings import Settings, document_limits
from vecron.statefiles import SQLITE_COMPANIONS, StateFiles
from vecron.storage import ObjectStorage, open_storage
from vecron.storage.file import SCHEME, parse_file_url
from vecron.store import Store
from vecron.store.engine import is_sqlite, sqlite_file


def state_files(settings: Settings) -> StateFiles:
    """vecron's own state as ``settings`` name it: the SQLite database and its
    companions, the secret key file, the file storage root."""
    from sqlalchemy.engine import make_url

    files: list[Path] = []
    folders: list[Path] = []
    url = make_url(settings.database_url)
    database = sqlite_file(url) if is_sqlite(url) else None
    if database is not None:
        database = database.absolute()
        files += [database, *(Path(f"{database}{end}") for end in SQLITE_COMPANIONS)]
    with contextlib.suppress(ConfigurationError):  # no key file: keys are configured
        key = key_file_path(settings)
        if key is not None:
            files.append(key.absolute())
    if settings.storage_url.startswith(SCHEME):
        folders.append(parse_file_url(settings.storage_url)[0])
    return StateFiles(tuple(files), tuple(folders))


def egress_policy(settings: Settings) -> EgressPolicy:
    """The egress policy ``settings`` configure, refusing vecron's own state."""
    return EgressPolicy(
        deny=settings.egress_deny,
        allow=settings.egress_allow,
        steps=settings.egress_steps,
        state=state_files(settings),
        own_database=_own_database(settings.database_url),
    )


def _own_database(url: str) -> DatabaseServer | None:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return None
    # libpq's defaults: the local server, and a database named after the user.
    database = parsed.database or parsed.username or "postgres"
    return DatabaseServer(parsed.host or "localhost", parsed.port or 5432, database)


class Runtime:
    """``async with Runtime(settings) as rt:`` — everything a command needs."""

    def __init__(self, settings: Settings, *, pm: pluggy.PluginManager | None = None) -> None:
        self.settings = settings
        self.pm = pm or get_plugin_manager()
        self.registry: Registry = build_registry(self.pm)
        self.schedules = ScheduleService(self.registry, default_timezone=settings.timezone)
        #: This process's metrics, served at ``/metrics`` by whatever app it serves.
        self.metrics = Metrics()
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Runtime:
        from vecron.store import open_store

        settings = self.settings
        self.store: Store = open_store(settings.database_url)
        await self.store.start()
        self._stack.push_async_callback(self.store.close)
        self.metrics.read_backlog_from(self.store)
        if settings.auto_migrate:
            await self.store.upgrade(tuple(self.registry.migrations.values()))
        self.queue: Queue = open_queue(settings.queue_url)
        await self.queue.start()
        self._stack.push_async_callback(self.queue.close)
        #: This process's events: to its observers and, over the transport, to every
        #: process's subscriptions.
        self.events = EventBus(self.pm, open_event_transport(settings.queue_url))
        await self.events.start()
        self._stack.push_async_callback(self.events.close)
        self.lock: Lock = open_lock(settings.lock_url)
        await self.lock.start()
        self._stack.push_async_callback(self.lock.close)
        self.breaker = open_breaker(
            settings.lock_url, settings.breaker_threshold, settings.breaker_open_seconds
        )
        await self.breaker.start()
        self._stack.push_async_callback(self.breaker.close)
        self.secrets = secret_box(settings)
        self.variables = VariableService(self.store, self.secrets, events=self.events)
        self.audit = AuditService(self.store)
        self.storage: ObjectStorage = open_storage(settings.storage_url)
        await self.storage.start()
        self._stack.push_async_callback(self.storage.close)
        self.wakeup = Wakeup(self.store)
        self.jobs = JobService(
            self.store,
            self.registry,
            storage=self.storage,
            default_timezone=settings.timezone,
            on_change=self.wakeup.notify,
            limits=document_limits(settings),
            events=self.events,
            variables=self.variables,
            max_import_bytes=settings.api_max_body_bytes,
        )
        self.triggers = TriggerService(
            self.store, self.registry, on_change=self.wakeup.notify, events=self.events
        )
        self.executions = ExecutionService(
            self.store,
            self.storage,
            on_change=self.wakeup.notify,
            events=self.events,
            after_finish=FixedDelay(self.store, self.registry, self.wakeup).finished,
        )
        self.files = ExecutionFileService(self.store, self.storage)
        self.plugins = PluginService(self.pm, self.registry, Gate(self.store))
        self.egress = egress_policy(settings)
        deliveries = Deliveries(settings.alerts, self.registry, self.variables)
        deliveries.check()
        #: Alerts of executions this process finishes and fire times it drops.
        self.alerter = Alerter(self.store, deliveries, batch_size=settings.batch_size)
        self._stack.push_async_callback(
            self.alerter.close, min(settings.shutdown_grace, settings.alerts.delivery_timeout)
        )
        self.alerts = AlertService(deliveries, Gate(self.store))
        return self

    async def __aexit__(
        self,
        *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None] | Any,
    ) -> None:
        await self._stack.aclose()

    def readiness_checks(self) -> dict[str, Callable[[], Awaitable[object]]]:
        """What ``/readyz`` asks: every backend this process talks to."""
        return {"store": self.store.revision, "queue": self.queue.ping, "lock": self.lock.ping}

    def scheduler(self) -> Scheduler:
        return Scheduler(
            self.store,
            self.queue,
            self.registry,
            wakeup=self.wakeup,
            lock=self.lock,
            lock_ttl=self.settings.lock_ttl,
            reconcile_grace=self.settings.reconcile_grace,
            lookahead=self.settings.scheduler_lookahead,
            batch_size=self.settings.batch_size,
            events=self.events,
            alerts=self.alerter,
            metrics=self.metrics,
        )

    def worker(self, *, concurrency: int | None = None) -> Worker:
        return Worker(
            self.store,
            self.queue,
            self.registry,
            events=self.events,
            wakeup=self.wakeup,
            concurrency=concurrency or self.settings.worker_concurrency,
            lease_seconds=self.settings.lease_seconds,
            batch_size=self.settings.batch_size,
            shutdown_grace=self.settings.shutdown_grace,
            breaker=self.breaker,
            variables=self.variables,
            contexts=JobContextStore(self.storage),
            storage=self.storage,
            egress=self.egress,
            alerts=self.alerter,
            metrics=self.metrics,
        )


def open_event_transport(queue_url: str) -> EventTransport:
    """Events travel where executions do: over the NATS server of a ``nats://`` queue
    (on subjects ``<queue subject>.events.<kind>``, so installations sharing a server
    stay apart), in-process with the embedded ``memory://`` queue."""
    if queue_url.startswith("nats://"):
        from vecron.events.nats import NatsEventTransport
        from vecron.queue.natsurl import NatsSettings

        nats = NatsSettings(queue_url)
        return NatsEventTransport(
            nats.servers,
            f"{nats.subject}.events",
            connect_timeout=nats.connect_timeout,
            reconnect_wait=nats.reconnect_wait,
        )
    return MemoryTransport()


#: How long a thread may hold the GIL while another waits for it (Python's default is
#: 5 ms). The event loop hands every database statement to a driver thread (aiosqlite)
#: and storage writes to a writer thread; each answer waits for the GIL, so while the loop
#: serves one request, another request's next statement waited up to 5 ms per hand-off.
#: At 0.5 ms, GET /executions at 150 requests/s on a busy 2-core machine answered with
#: p99 0.09-0.6 s instead of 1.1-1.4 s (alternating runs, issue #11).
SWITCH_INTERVAL_SECONDS = 0.0005


def tune_for_serving() -> None:
    """Tune the interpreter of a long-running process once it has started (``vecron
    up``, ``api``, ``scheduler``, ``worker``): keep garbage-collection pauses out of the
    hot path, and hand the GIL between the event loop and its driver threads sooner.

    After start-up, hundreds of thousands of long-lived objects (modules, SQLAlchemy and
    pydantic internals) sit in the oldest generation; every full collection walks them
    all and stalls the event loop for tens of milliseconds, in the middle of a burst of
    due executions. Freezing them moves them out of the collector's reach, and a larger
    young-generation threshold makes collections rarer.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)

"""The SQL store: SQLite (default) and PostgreSQL through SQLAlchemy 2 Core, async.

Hot paths are batched: one transaction per batch and set-based statements (``IN``
lists, executemany, multi-row ``VALUES``), never one round trip per row. Conditional
writes (``apply_fires``, ``record``) first read the rows they may change under the
write lock — ``BEGIN IMMEDIATE`` on SQLite, ``SELECT ... FOR UPDATE`` on PostgreSQL —
decide in Python which apply, and then write with the condition repeated in the
``WHERE`` clause, so no decision can be based on a row another writer is changing.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Unpack

from sqlalchemy import Select, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from vecron.auth.audit import AuditEntry, AuditFilters
from vecron.errors import BackendUnavailable, NotFoundError, ValidationError, VecronError
from vecron.models.alerts import AlertState
from vecron.models.definition import JobDefinition
from vecron.models.execution import (
    ACTIVE_STATUSES,
    Execution,
    ExecutionStatus,
    NewExecution,
    Occurrence,
    Outcome,
    StepResult,
)
from vecron.models.job import JobRecord
from vecron.plugin.migrations import MigrationSource
from vecron.store import (
    admission,
    alertstates,
    auditlog,
    cancels,
    claims,
    history,
    jobchanges,
    jobstats,
    leadership,
    lookups,
    publishing,
    recording,
    rows,
    saving,
)
from vecron.store import backlog as backlog_module
from vecron.store import fires as fires_module
from vecron.store import variables as variables_module
from vecron.store.base import (
    AppliedFires,
    Backlog,
    JobFires,
    JobStats,
    JobVersion,
    Position,
    SaveResult,
    Store,
    StoredVariable,
    VariablesOf,
    audit_for_saves,
)
from vecron.store.engine import create_engine, is_sqlite, writer
from vecron.store.migrate import upgrade_to_head
from vecron.store.schema import JOB_READ_COLUMNS, REVISION_ROW, executions, jobs, revision
from vecron.store.statements import Statements, chunks
from vecron.urls import redact_url

#: Key of the PostgreSQL advisory lock that serialises concurrent ``upgrade()`` calls.
MIGRATION_LOCK_KEY = 0x7665_6372_6F6E
QUEUED = ExecutionStatus.QUEUED.value


def utc_now() -> datetime:
    return datetime.now(UTC)


def due_jobs_query(horizon: datetime, limit: int) -> Select[Any]:
    """The scheduler's due query: a range scan of the partial index ``ix_jobs_due``."""
    return (
        select(*JOB_READ_COLUMNS)
        .where(jobs.c.enabled, jobs.c.next_fire_at <= horizon)
        .order_by(jobs.c.next_fire_at, jobs.c.id)
        .limit(limit)
    )


#: The connection of the :meth:`SqlStore.reading` block the current task is in, and
#: whose store it is (a process may hold several stores).
_SHARED_READS: ContextVar[tuple[SqlStore, AsyncConnection] | None] = ContextVar(
    "vecron_store_shared_reads", default=None
)


def _shared_reads(store: SqlStore) -> AsyncConnection | None:
    found = _SHARED_READS.get()
    return found[1] if found is not None and found[0] is store else None


class SqlStore(Store):
    """:class:`Store` on ``sqlite+aiosqlite:///path`` or ``postgresql+asyncpg://...``.

    Several instances (processes, event loops) may use one database at once.
    ``clock`` stamps rows no caller gives a time for (ledger rows, cancellations).
    """

    def __init__(self, url: str, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.url = url
        self._url = make_url(url)
        self._sqlite = is_sqlite(self._url)
        self._statements = Statements(sqlite=self._sqlite)
        self._clock = clock
        self._engine: AsyncEngine | None = None
        self._writer: AsyncEngine | None = None
        self._last_seq = 0

    def __repr__(self) -> str:
        return f"SqlStore({redact_url(self.url)!r})"

    # -- lifecycle ----------------------------------------------------------------
    async def start(self) -> None:
        if self._engine is None:
            self._engine = create_engine(self._url)
            self._writer = writer(self._engine)

    async def close(self) -> None:
        if self._engine is not None:
            engine, self._engine, self._writer = self._engine, None, None
            await engine.dispose()

    async def upgrade(self, plugins: Sequence[MigrationSource] = ()) -> None:
        if not self._sqlite:  # a local file: "locked" by a concurrent upgrade is no outage
            await self._reach()
        async with self._write() as conn:
            if not self._sqlite:
                # SQLite serialises through BEGIN IMMEDIATE; PostgreSQL needs a lock so
                # that two processes starting together do not both create the tables.
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
            await conn.run_sync(upgrade_to_head)
            for source in plugins:
                await conn.run_sync(upgrade_to_head, source)

    async def _reach(self) -> None:
        """:raises BackendUnavailable: the server does not answer or lets nobody in; the
        message names it without its password (drivers name the address at most)."""
        try:
            async with self._read() as conn:
                await conn.execute(select(1))
        except (OSError, TimeoutError, DBAPIError) as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:300]
            raise BackendUnavailable(
                f"cannot reach the database at {redact_url(self.url)}: "
                f"{type(exc).__name__}: {reason}",
                field="database_url",
            ) from exc

    def connect(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A connection for reading (plugins' own tables: :class:`vecron.plugin.auth.Database`)."""
        return self._read()

    def begin(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A write transaction, through the one writer on SQLite."""
        return self._write()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[None]:
        if _shared_reads(self) is not None:
            yield
            return
        async with self._read() as conn:
            shared = _SHARED_READS.set((self, conn))
            try:
                yield
            finally:
                _SHARED_READS.reset(shared)

    def _read(self) -> AbstractAsyncContextManager[AsyncConnection]:
        shared = _shared_reads(self)
        if shared is not None:
            return nullcontext(shared)
        if self._engine is None:
            raise VecronError("the store is not started; call start() first")
        return self._engine.connect()

    def _write(self) -> AbstractAsyncContextManager[AsyncConnection]:
        if self._writer is None:
            raise VecronError("the store is not started; call start() first")
        return self._writer.begin()

    def _next_seq(self) -> int:
        self._last_seq = max(self._last_seq + 1, time.time_ns())
        return self._last_seq

    # -- jobs ---------------------------------------------------------------------
    async def save_job(
        self,
        definition: JobDefinition,
        *,
        next_fire_at: datetime | None,
        now: datetime,
        audit: AuditEntry | None = None,
    ) -> SaveResult:
        async with self._write() as conn:
            result = await saving.save_job(
                conn, self._statements, definition, next_fire_at=next_fire_at, now=now
            )
            if result.change != "unchanged":
                await auditlog.write_audit(conn, [audit])
            return result

    async def save_jobs(
        self,
        items: Sequence[tuple[JobDefinition, datetime | None]],
        *,
        now: datetime,
        audit: AuditEntry | Sequence[AuditEntry | None] | None = None,
        create_only: bool = False,
        variables: VariablesOf | None = None,
    ) -> list[SaveResult]:
        async with self._write() as conn:
            results = await saving.save_jobs(
                conn, self._statements, items, now=now, create_only=create_only
            )
            for v in variables(results) if variables is not None else ():
                await variables_module.set_variable(
                    conn, self._statements, v.scope, v.name, v.value, secret=v.secret, now=now
                )
            await auditlog.write_audit(conn, audit_for_saves(audit, results))
            return results

    async def jobs_by_name(self, names: Sequence[str]) -> dict[str, JobRecord]:
        async with self._read() as conn:
            return await lookups.jobs_by_name(conn, names)

    async def get_job(self, ref: str) -> JobRecord:
        async with self._read() as conn:
            return await lookups.get_job(conn, ref)

    async def list_jobs(
        self,
        *,
        enabled: bool | None = None,
        search: str | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[JobRecord]:
        async with self._read() as conn:
            return await lookups.list_jobs(
                conn, enabled=enabled, search=search, after=after, limit=limit
            )

    async def job_stats(self, job_ids: Sequence[str], *, since: datetime) -> dict[str, JobStats]:
        if not job_ids:
            return {}
        async with self._read() as conn:
            return await jobstats.job_stats(conn, job_ids, since=since)

    async def job_versions(self, job_id: str) -> list[JobVersion]:
        async with self._read() as conn:
            return await lookups.versions_of(conn, job_id)

    async def delete_job(self, job_id: str, *, audit: AuditEntry | None = None) -> None:
        async with self._write() as conn:
            await jobchanges.delete_job(conn, job_id, now=self._clock())
            await auditlog.write_audit(conn, [audit])

    async def set_enabled(
        self,
        job_id: str,
        enabled: bool,
        *,
        next_fire_at: datetime | None,
        now: datetime,
        audit: AuditEntry | None = None,
    ) -> JobRecord:
        async with self._write() as conn:
            record = await jobchanges.set_enabled(
                conn,
                job_id,
                enabled,
                next_fire_at=next_fire_at,
                now=now,
                cancelled_at=self._clock(),
            )
            await auditlog.write_audit(conn, [audit])
        return record

    async def set_next_fire(
        self, job_id: str, next_fire_at: datetime | None, *, last_finished_at: datetime | None
    ) -> None:
        async with self._write() as conn:
            await jobchanges.set_next_fire(
                conn, job_id, next_fire_at, last_finished_at=last_finished_at
            )

    async def job_definition(self, job_id: str, version: int) -> JobDefinition:
        async with self._read() as conn:
            return await lookups.job_definition(conn, job_id, version)

    async def job_definitions(
        self, keys: Sequence[tuple[str, int]]
    ) -> dict[tuple[str, int], JobDefinition]:
        async with self._read() as conn:
            return await lookups.job_definitions(conn, keys)

    async def revision(self) -> int:
        async with self._read() as conn:
            value = (
                await conn.execute(select(revision.c.value).where(revision.c.id == REVISION_ROW))
            ).scalar_one()
        return int(value)

    # -- scheduling ---------------------------------------------------------------
    async def due_jobs(self, horizon: datetime, limit: int) -> list[JobRecord]:
        async with self._read() as conn:
            found = (await conn.execute(due_jobs_query(horizon, limit))).mappings().all()
        return [rows.job_record(row) for row in found]

    async def next_wakeup(self) -> datetime | None:
        async with self._read() as conn:
            first, second = (await conn.execute(publishing.next_wakeup_query())).one()
        candidates = [moment for moment in (first, second) if moment is not None]
        return min(candidates) if candidates else None

    async def apply_fires(
        self, fires: Sequence[JobFires], *, epoch: int | None = None
    ) -> AppliedFires:
        if not fires:
            return AppliedFires()
        async with self._write() as conn:
            if epoch is not None:
                await leadership.check_epoch(conn, epoch)
            return await fires_module.apply_fires(conn, self._statements, fires, self._clock())

    async def elect(self, owner: str, now: datetime) -> int:
        async with self._write() as conn:
            return await leadership.elect(conn, self._statements, owner, now)

    async def now(self) -> datetime:
        if self._sqlite:  # one machine: the database clock is this clock
            return self._clock()
        async with self._read() as conn:
            value = (await conn.execute(select(func.clock_timestamp()))).scalar_one()
        return value.astimezone(UTC) if isinstance(value, datetime) else self._clock()

    async def stranded(
        self, *, now: datetime, unclaimed_before: datetime, limit: int
    ) -> list[Execution]:
        async with self._read() as conn:
            return await claims.stranded(
                conn, now=now, unclaimed_before=unclaimed_before, limit=limit
            )

    async def rerun(
        self,
        execution_id: str,
        *,
        extra_attempts: int,
        now: datetime,
        audit: AuditEntry | None = None,
    ) -> Execution:
        async with self._write() as conn:
            execution = await admission.rerun(
                conn, execution_id, extra_attempts=extra_attempts, now=now
            )
            await auditlog.write_audit(conn, [audit])
        return execution

    async def active_jobs(self, job_ids: Sequence[str]) -> set[str]:
        active: set[str] = set()
        async with self._read() as conn:
            for chunk in chunks(claims.unique(job_ids)):
                found = await conn.execute(
                    select(executions.c.job_id)
                    .where(
                        executions.c.job_id.in_(chunk),
                        executions.c.status.in_(sorted(s.value for s in ACTIVE_STATUSES)),
                    )
                    .distinct()
                )
                active.update(found.scalars())
        return active

    async def create_execution(
        self, new: NewExecution, *, exclusive: bool = False, audit: AuditEntry | None = None
    ) -> tuple[Execution, bool]:
        async with self._write() as conn:
            execution, created = await admission.create_execution(
                conn, self._statements, new, exclusive=exclusive
            )
            if created:
                await auditlog.write_audit(conn, [audit])
        return execution, created

    async def pending_publish(self, horizon: datetime, limit: int) -> list[Execution]:
        async with self._read() as conn:
            found = await conn.execute(publishing.pending_publish_query(horizon, limit))
            return [rows.execution(row) for row in found.mappings()]

    async def mark_published(self, published: Sequence[Execution]) -> None:
        if not published:
            return
        async with self._write() as conn:
            await publishing.mark_published(conn, self._statements, published)

    # -- workers ------------------------------------------------------------------
    async def claim(
        self, ids: Sequence[str], owner: str, *, lease_until: datetime, now: datetime
    ) -> list[Execution]:
        if not ids:
            return []
        async with self._write() as conn:
            return await claims.claim(conn, ids, owner, lease_until=lease_until, now=now)

    async def extend_leases(
        self, ids: Sequence[str], owner: str, lease_until: datetime
    ) -> set[str]:
        if not ids:
            return set()
        async with self._write() as conn:
            return await claims.extend_leases(conn, ids, owner, lease_until)

    async def cancel_execution(
        self,
        execution_id: str,
        *,
        now: datetime,
        reason: str,
        audit: AuditEntry | None = None,
    ) -> Execution:
        async with self._write() as conn:
            execution, changed = await cancels.cancel_execution(
                conn, execution_id, now=now, reason=reason
            )
            if changed:
                await auditlog.write_audit(conn, [audit])
        return execution

    async def record(
        self, results: Sequence[StepResult], outcomes: Sequence[Outcome]
    ) -> list[bool]:
        for outcome in outcomes:
            if outcome.status is ExecutionStatus.RUNNING:
                raise ValidationError(
                    f"outcome of execution {outcome.execution_id!r} cannot be 'running'",
                    field="status",
                )
        if not results and not outcomes:
            return []
        seqs = [self._next_seq() for _ in results]
        async with self._write() as conn:
            if results:
                await recording.upsert_step_results(conn, self._statements, results, seqs)
            if not outcomes:
                return []
            return await recording.apply_outcomes(conn, self._statements, outcomes)

    async def advance_alerts(
        self,
        job_ids: Sequence[str],
        step: Callable[[Mapping[str, AlertState]], Mapping[str, AlertState]],
    ) -> None:
        async with self._write() as conn:
            await alertstates.advance(conn, self._statements, job_ids, step)

    async def get_execution(self, execution_id: str) -> Execution:
        async with self._read() as conn:
            row = (
                (await conn.execute(select(executions).where(executions.c.id == execution_id)))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFoundError(f"execution {execution_id!r} not found")
        return rows.execution(row)

    async def list_executions(
        self,
        *,
        job_id: str | None = None,
        status: ExecutionStatus | None = None,
        limit: int = 50,
        trigger: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before: Position | None = None,
    ) -> list[Execution]:
        query = history.executions_query(
            job_id=job_id,
            status=status,
            limit=limit,
            trigger=trigger,
            since=since,
            until=until,
            before=before,
        )
        return await self._executions(query)

    async def dead_letters(
        self, *, job_id: str | None = None, before: Position | None = None, limit: int = 50
    ) -> list[Execution]:
        return await self._executions(
            history.dead_letters_query(job_id=job_id, before=before, limit=limit)
        )

    async def _executions(self, query: Select[Any]) -> list[Execution]:
        async with self._read() as conn:
            return [rows.execution(row) for row in (await conn.execute(query)).mappings()]

    async def step_results(self, execution_id: str) -> list[StepResult]:
        query = history.step_results_query(execution_id)
        async with self._read() as conn:
            return [rows.step_result(row) for row in (await conn.execute(query)).mappings()]

    async def backlog(self) -> Backlog:
        async with self._read() as conn:
            return await backlog_module.backlog(conn)

    async def occurrences(self, job_id: str, limit: int = 100) -> list[Occurrence]:
        query = history.occurrences_query(job_id, limit)
        async with self._read() as conn:
            return [rows.occurrence(row) for row in (await conn.execute(query)).mappings()]

    # -- variables ----------------------------------------------------------------
    async def set_variable(
        self,
        scope: str | None,
        name: str,
        value: str,
        *,
        secret: bool,
        now: datetime,
        audit: AuditEntry | None = None,
    ) -> StoredVariable:
        async with self._write() as conn:
            stored = await variables_module.set_variable(
                conn, self._statements, scope, name, value, secret=secret, now=now
            )
            await auditlog.write_audit(conn, [audit])
        return stored

    async def get_variable(self, scope: str | None, name: str) -> StoredVariable | None:
        async with self._read() as conn:
            return await variables_module.get_variable(conn, scope, name)

    async def list_variables(
        self, *, scope: str | None = None, every_scope: bool = False
    ) -> list[StoredVariable]:
        async with self._read() as conn:
            return await variables_module.list_variables(conn, scope=scope, every_scope=every_scope)

    async def delete_variable(
        self, scope: str | None, name: str, *, audit: AuditEntry | None = None
    ) -> bool:
        async with self._write() as conn:
            deleted = await variables_module.delete_variable(conn, scope, name)
            if deleted:
                await auditlog.write_audit(conn, [audit])
        return deleted

    async def variables_for_jobs(self, job_ids: Sequence[str]) -> dict[str, list[StoredVariable]]:
        async with self._read() as conn:
            return await variables_module.variables_for_jobs(conn, job_ids)

    async def rotate_secret_values(
        self, rotate: Callable[[StoredVariable], str], *, audit: AuditEntry | None = None
    ) -> int:
        async with self._write() as conn:
            count = await variables_module.rotate_secret_values(
                conn, self._statements, rotate, lock=not self._sqlite
            )
            await auditlog.write_audit(conn, [audit])
        return count

    # -- audit ----------------------------------------------------------------------
    async def add_audit(self, entry: AuditEntry) -> None:
        async with self._write() as conn:
            await auditlog.write_audit(conn, [entry])

    async def list_audit(
        self, *, before: Position | None = None, **filters: Unpack[AuditFilters]
    ) -> list[AuditEntry]:
        query = auditlog.audit_query(filters, before)
        async with self._read() as conn:
            return auditlog.entries((await conn.execute(query)).mappings())

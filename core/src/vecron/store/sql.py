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
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    String,
    and_,
    delete,
    false,
    func,
    literal,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.dml import Update

from vecron.errors import ConflictError, FencedOut, NotFoundError, ValidationError, VecronError
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
from vecron.store import fires as fires_module
from vecron.store import manual, rows, saving
from vecron.store import outcomes as outcomes_module
from vecron.store import variables as variables_module
from vecron.store.base import JobFires, SaveResult, Store, StoredVariable
from vecron.store.engine import create_engine, is_sqlite, writer
from vecron.store.migrate import upgrade_to_head
from vecron.store.schema import (
    REVISION_ROW,
    executions,
    job_versions,
    jobs,
    occurrences,
    revision,
    scheduler_leader,
)
from vecron.store.schema import step_results as step_results_table
from vecron.store.statements import RowSource, Statements, bump_revision, chunks
from vecron.store.timestamp import UtcDateTime

#: Key of the PostgreSQL advisory lock that serialises concurrent ``upgrade()`` calls.
MIGRATION_LOCK_KEY = 0x7665_6372_6F6E
QUEUED = ExecutionStatus.QUEUED.value
#: The one row of ``scheduler_leader``.
LEADER_ROW = "scheduler"
RUNNING = ExecutionStatus.RUNNING.value
CANCELLED = ExecutionStatus.CANCELLED.value


def utc_now() -> datetime:
    return datetime.now(UTC)


def due_jobs_query(horizon: datetime, limit: int) -> Select[Any]:
    """The scheduler's due query: a range scan of the partial index ``ix_jobs_due``."""
    return (
        select(jobs)
        .where(jobs.c.enabled, jobs.c.next_fire_at <= horizon)
        .order_by(jobs.c.next_fire_at, jobs.c.id)
        .limit(limit)
    )


def _unique(items: Iterable[str]) -> list[str]:
    return sorted(set(items))


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
        return f"SqlStore({self._url.render_as_string(hide_password=True)!r})"

    # -- lifecycle ----------------------------------------------------------------
    async def start(self) -> None:
        if self._engine is None:
            self._engine = create_engine(self._url)
            self._writer = writer(self._engine)

    async def close(self) -> None:
        if self._engine is not None:
            engine, self._engine, self._writer = self._engine, None, None
            await engine.dispose()

    async def upgrade(self) -> None:
        async with self._write() as conn:
            if not self._sqlite:
                # SQLite serialises through BEGIN IMMEDIATE; PostgreSQL needs a lock so
                # that two processes starting together do not both create the tables.
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
            await conn.run_sync(upgrade_to_head)

    def _read(self) -> AbstractAsyncContextManager[AsyncConnection]:
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
        self, definition: JobDefinition, *, next_fire_at: datetime | None, now: datetime
    ) -> SaveResult:
        async with self._write() as conn:
            return await saving.save_job(
                conn, self._statements, definition, next_fire_at=next_fire_at, now=now
            )

    async def save_jobs(
        self, items: Sequence[tuple[JobDefinition, datetime | None]], *, now: datetime
    ) -> list[SaveResult]:
        async with self._write() as conn:
            return await saving.save_jobs(conn, self._statements, items, now=now)

    async def jobs_by_name(self, names: Sequence[str]) -> dict[str, JobRecord]:
        found: dict[str, JobRecord] = {}
        async with self._read() as conn:
            for chunk in chunks(sorted(set(names))):
                result = await conn.execute(select(jobs).where(jobs.c.name.in_(chunk)))
                found.update({row["name"]: rows.job_record(row) for row in result.mappings()})
        return found

    async def get_job(self, ref: str) -> JobRecord:
        async with self._read() as conn:
            found = (
                (await conn.execute(select(jobs).where(or_(jobs.c.id == ref, jobs.c.name == ref))))
                .mappings()
                .all()
            )
        if not found:
            raise NotFoundError(f"job {ref!r} not found", hint="`vecron job list` shows the jobs")
        # A name could look like another job's id; the id wins.
        best = next((row for row in found if row["id"] == ref), found[0])
        return rows.job_record(best)

    async def list_jobs(self) -> list[JobRecord]:
        async with self._read() as conn:
            found = (await conn.execute(select(jobs).order_by(jobs.c.name))).mappings().all()
        return [rows.job_record(row) for row in found]

    async def delete_job(self, job_id: str) -> None:
        async with self._write() as conn:
            deleted = await conn.execute(delete(jobs).where(jobs.c.id == job_id))
            if deleted.rowcount == 0:
                raise NotFoundError(f"job {job_id!r} not found")
            await conn.execute(delete(job_versions).where(job_versions.c.job_id == job_id))
            await variables_module.delete_job_variables(conn, job_id)
            await self._cancel_queued(conn, job_id, reason="job deleted", only_unstarted=False)
            await bump_revision(conn)

    async def _cancel_queued(
        self, conn: AsyncConnection, job_id: str, *, reason: str, only_unstarted: bool
    ) -> None:
        condition = and_(executions.c.job_id == job_id, executions.c.status == QUEUED)
        if only_unstarted:
            condition = and_(condition, executions.c.started_at.is_(None))
        await conn.execute(
            update(executions)
            .where(condition)
            .values(
                status=CANCELLED,
                finished_at=self._clock(),
                error=reason,
                lease_owner=None,
                lease_expires_at=None,
            )
        )

    async def set_enabled(
        self, job_id: str, enabled: bool, *, next_fire_at: datetime | None, now: datetime
    ) -> JobRecord:
        async with self._write() as conn:
            row = (
                (
                    await conn.execute(
                        update(jobs)
                        .where(jobs.c.id == job_id)
                        .values(enabled=enabled, next_fire_at=next_fire_at, updated_at=now)
                        .returning(*jobs.c)
                    )
                )
                .mappings()
                .first()
            )
            if row is None:
                raise NotFoundError(f"job {job_id!r} not found")
            if not enabled:
                await self._cancel_queued(conn, job_id, reason="job disabled", only_unstarted=True)
            await bump_revision(conn)
        return rows.job_record(row)

    async def set_next_fire(
        self, job_id: str, next_fire_at: datetime | None, *, last_finished_at: datetime | None
    ) -> None:
        values: dict[str, Any] = {"next_fire_at": next_fire_at}
        if last_finished_at is not None:
            values["last_finished_at"] = last_finished_at
        async with self._write() as conn:
            await conn.execute(update(jobs).where(jobs.c.id == job_id).values(**values))
            await bump_revision(conn)

    async def job_definition(self, job_id: str, version: int) -> JobDefinition:
        async with self._read() as conn:
            document = (
                await conn.execute(
                    select(job_versions.c.definition).where(
                        job_versions.c.job_id == job_id, job_versions.c.version == version
                    )
                )
            ).scalar_one_or_none()
        if document is None:
            raise NotFoundError(f"job {job_id!r} has no version {version}")
        return JobDefinition.model_validate(document)

    async def job_definitions(
        self, keys: Sequence[tuple[str, int]]
    ) -> dict[tuple[str, int], JobDefinition]:
        found: dict[tuple[str, int], JobDefinition] = {}
        wanted = set(keys)
        async with self._read() as conn:
            for chunk in chunks(sorted({job_id for job_id, _ in wanted})):
                result = await conn.execute(
                    select(
                        job_versions.c.job_id, job_versions.c.version, job_versions.c.definition
                    ).where(job_versions.c.job_id.in_(chunk))
                )
                for job_id, version, document in result:
                    if (job_id, version) in wanted:
                        found[(job_id, version)] = JobDefinition.model_validate(document)
        return found

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
        next_fire = select(func.min(jobs.c.next_fire_at)).where(jobs.c.enabled).scalar_subquery()
        next_publish = (
            select(func.min(executions.c.not_before))
            .where(executions.c.status == QUEUED, executions.c.published == false())
            .scalar_subquery()
        )
        async with self._read() as conn:
            first, second = (await conn.execute(select(next_fire, next_publish))).one()
        candidates = [moment for moment in (first, second) if moment is not None]
        return min(candidates) if candidates else None

    async def apply_fires(
        self, fires: Sequence[JobFires], *, epoch: int | None = None
    ) -> list[Execution]:
        if not fires:
            return []
        async with self._write() as conn:
            if epoch is not None:
                current = (
                    await conn.execute(
                        select(scheduler_leader.c.epoch)
                        .where(scheduler_leader.c.name == LEADER_ROW)
                        .with_for_update()
                    )
                ).scalar_one_or_none()
                if current != epoch:
                    raise FencedOut(
                        f"scheduler epoch {epoch} was superseded by {current}; not writing"
                    )
            return await fires_module.apply_fires(conn, self._statements, fires, self._clock())

    async def elect(self, owner: str, now: datetime) -> int:
        async with self._write() as conn:
            current = (
                await conn.execute(
                    select(scheduler_leader.c.epoch)
                    .where(scheduler_leader.c.name == LEADER_ROW)
                    .with_for_update()
                )
            ).scalar_one_or_none()
            if current is None:
                inserted = await conn.execute(
                    self._statements.insert(scheduler_leader)
                    .values(name=LEADER_ROW, epoch=1, owner=owner, elected_at=now)
                    .on_conflict_do_nothing(index_elements=["name"])
                )
                if inserted.rowcount == 1:
                    return 1
            result = await conn.execute(
                update(scheduler_leader)
                .where(scheduler_leader.c.name == LEADER_ROW)
                .values(epoch=scheduler_leader.c.epoch + 1, owner=owner, elected_at=now)
                .returning(scheduler_leader.c.epoch)
            )
            return int(result.scalar_one())

    async def now(self) -> datetime:
        if self._sqlite:  # one machine: the database clock is this clock
            return self._clock()
        async with self._read() as conn:
            value = (await conn.execute(select(func.clock_timestamp()))).scalar_one()
        return value.astimezone(UTC) if isinstance(value, datetime) else self._clock()

    async def stranded(
        self, *, now: datetime, unclaimed_before: datetime, limit: int
    ) -> list[Execution]:
        query = (
            select(executions)
            .where(
                or_(
                    and_(executions.c.status == RUNNING, executions.c.lease_expires_at < now),
                    and_(
                        executions.c.status == QUEUED,
                        executions.c.published == true(),
                        executions.c.not_before < unclaimed_before,
                    ),
                )
            )
            .order_by(executions.c.not_before)
            .limit(limit)
        )
        async with self._read() as conn:
            found = (await conn.execute(query)).mappings().all()
        return [rows.execution(row) for row in found]

    async def rerun(self, execution_id: str, *, extra_attempts: int, now: datetime) -> Execution:
        async with self._write() as conn:
            result = await conn.execute(
                update(executions)
                .where(executions.c.id == execution_id, executions.c.dead_lettered_at.is_not(None))
                .values(
                    status=QUEUED,
                    dead_lettered_at=None,
                    finished_at=None,
                    error=None,
                    lease_owner=None,
                    lease_expires_at=None,
                    not_before=now,
                    published=False,
                    max_attempts=executions.c.attempt + extra_attempts,
                )
                .returning(*executions.c)
            )
            row = result.mappings().first()
            if row is None:
                exists = (
                    await conn.execute(
                        select(executions.c.status).where(executions.c.id == execution_id)
                    )
                ).scalar_one_or_none()
                if exists is None:
                    raise NotFoundError(f"execution {execution_id!r} not found")
                raise ConflictError(
                    f"execution {execution_id!r} is {exists}, not dead-lettered; only those re-run"
                )
            await bump_revision(conn)
        return rows.execution(row)

    async def active_jobs(self, job_ids: Sequence[str]) -> set[str]:
        active: set[str] = set()
        async with self._read() as conn:
            for chunk in chunks(_unique(job_ids)):
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
        self, new: NewExecution, *, exclusive: bool = False
    ) -> tuple[Execution, bool]:
        async with self._write() as conn:
            return await manual.create_execution(conn, self._statements, new, exclusive=exclusive)

    async def pending_publish(self, horizon: datetime, limit: int) -> list[Execution]:
        query = (
            select(executions)
            .where(
                executions.c.status == QUEUED,
                executions.c.published == false(),
                executions.c.not_before <= horizon,
            )
            .order_by(executions.c.not_before, executions.c.id)
            .limit(limit)
        )
        async with self._read() as conn:
            found = (await conn.execute(query)).mappings().all()
        return [rows.execution(row) for row in found]

    async def mark_published(self, published: Sequence[Execution]) -> None:
        if not published:
            return
        data = sorted({(e.id, e.attempt) for e in published})
        async with self._write() as conn:
            await self._statements.update_each(
                conn, [("id", String()), ("attempt", Integer())], data, _mark_published
            )

    # -- workers ------------------------------------------------------------------
    async def claim(
        self, ids: Sequence[str], owner: str, *, lease_until: datetime, now: datetime
    ) -> list[Execution]:
        if not ids:
            return []
        claimed: list[Execution] = []
        async with self._write() as conn:
            for chunk in chunks(_unique(ids)):
                found = await conn.execute(
                    update(executions)
                    .where(
                        executions.c.id.in_(chunk),
                        or_(
                            executions.c.status == QUEUED,
                            and_(
                                executions.c.status == RUNNING,
                                executions.c.lease_expires_at < now,
                            ),
                        ),
                    )
                    .values(
                        status=RUNNING,
                        lease_owner=owner,
                        lease_expires_at=lease_until,
                        attempt=executions.c.attempt + 1,
                        started_at=func.coalesce(
                            executions.c.started_at, literal(now, UtcDateTime())
                        ),
                    )
                    .returning(*executions.c)
                )
                claimed.extend(rows.execution(row) for row in found.mappings())
        order = {execution_id: index for index, execution_id in enumerate(ids)}
        claimed.sort(key=lambda execution: order[execution.id])
        return claimed

    async def extend_leases(self, ids: Sequence[str], owner: str, lease_until: datetime) -> None:
        if not ids:
            return
        async with self._write() as conn:
            for chunk in chunks(_unique(ids)):
                await conn.execute(
                    update(executions)
                    .where(
                        executions.c.id.in_(chunk),
                        executions.c.lease_owner == owner,
                        executions.c.status == RUNNING,
                    )
                    .values(lease_expires_at=lease_until)
                )

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
                await outcomes_module.upsert_step_results(conn, self._statements, results, seqs)
            if not outcomes:
                return []
            return await outcomes_module.apply_outcomes(conn, self._statements, outcomes)

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
    ) -> list[Execution]:
        query = select(executions)
        if job_id is not None:
            query = query.where(executions.c.job_id == job_id)
        if status is not None:
            query = query.where(executions.c.status == status.value)
        query = query.order_by(executions.c.created_at.desc(), executions.c.id.desc()).limit(limit)
        async with self._read() as conn:
            found = (await conn.execute(query)).mappings().all()
        return [rows.execution(row) for row in found]

    async def step_results(self, execution_id: str) -> list[StepResult]:
        query = (
            select(step_results_table)
            .where(step_results_table.c.execution_id == execution_id)
            .order_by(step_results_table.c.seq, step_results_table.c.step_id)
        )
        async with self._read() as conn:
            found = (await conn.execute(query)).mappings().all()
        return [rows.step_result(row) for row in found]

    async def occurrences(self, job_id: str, limit: int = 100) -> list[Occurrence]:
        query = (
            select(occurrences)
            .where(occurrences.c.job_id == job_id)
            .order_by(occurrences.c.fire_time.desc())
            .limit(limit)
        )
        async with self._read() as conn:
            found = (await conn.execute(query)).mappings().all()
        return [rows.occurrence(row) for row in found]

    # -- variables ----------------------------------------------------------------
    async def set_variable(
        self, scope: str | None, name: str, value: str, *, secret: bool, now: datetime
    ) -> StoredVariable:
        async with self._write() as conn:
            return await variables_module.set_variable(
                conn, self._statements, scope, name, value, secret=secret, now=now
            )

    async def get_variable(self, scope: str | None, name: str) -> StoredVariable | None:
        async with self._read() as conn:
            return await variables_module.get_variable(conn, scope, name)

    async def list_variables(
        self, *, scope: str | None = None, every_scope: bool = False
    ) -> list[StoredVariable]:
        async with self._read() as conn:
            return await variables_module.list_variables(conn, scope=scope, every_scope=every_scope)

    async def delete_variable(self, scope: str | None, name: str) -> bool:
        async with self._write() as conn:
            return await variables_module.delete_variable(conn, scope, name)

    async def variables_for_jobs(self, job_ids: Sequence[str]) -> dict[str, list[StoredVariable]]:
        async with self._read() as conn:
            return await variables_module.variables_for_jobs(conn, job_ids)

    async def rotate_secret_values(self, rotate: Callable[[StoredVariable], str]) -> int:
        async with self._write() as conn:
            return await variables_module.rotate_secret_values(
                conn, self._statements, rotate, lock=not self._sqlite
            )


def _mark_published(row: RowSource) -> Update:
    # Only the attempt that was published: a worker may already have claimed it and put
    # it back for a retry, which must stay unpublished so the retry is sent.
    return (
        update(executions)
        .where(
            executions.c.id == row["id"],
            executions.c.attempt == row["attempt"],
            executions.c.status == ExecutionStatus.QUEUED.value,
        )
        .values(published=True)
    )

"""The store contract. Every backend (SQLite, PostgreSQL) passes one contract suite.

Hot-path methods take and return lists so callers batch: one transaction per batch of
fires, claims or outcomes, never one per row.

Audit: every method a service calls to change state takes ``audit=`` — the
:class:`~vecron.auth.audit.AuditEntry` describing the change — and writes it in the same
transaction as the change: a change that fails leaves no entry, an entry is never
written without its change (a call that changes nothing, such as an unchanged save or a
repeated idempotency key, writes none), and an entry that cannot be written (its id is
taken: :class:`~vecron.errors.ConflictError`) undoes the change. :meth:`Store.add_audit`
records what changed nothing, such as a refused attempt.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Unpack

from vecron.auth.audit import AuditEntry, AuditFilters
from vecron.errors import ValidationError
from vecron.models.alerts import AlertState
from vecron.models.definition import JobDefinition
from vecron.models.execution import (
    Execution,
    ExecutionStatus,
    NewExecution,
    Occurrence,
    OccurrenceStatus,
    Outcome,
    StepResult,
)
from vecron.models.job import JobRecord
from vecron.plugin.migrations import MigrationSource

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection


#: A place in a newest-first listing: the last row shown's time and id. The next page
#: is what comes strictly before it in ``(time, id)`` order.
Position = tuple[datetime, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class SaveResult:
    """``change`` is ``created``, ``updated`` (new version) or ``unchanged``."""

    job: JobRecord
    change: str
    previous: JobDefinition | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class JobStats:
    """A job's recent record: the status of its latest finished execution, and of its
    executions finished since a time, how many ran to an end (succeeded, failed or
    timed out; not skipped or cancelled) and how many of those succeeded."""

    last_status: ExecutionStatus | None
    ran: int
    succeeded: int

    @property
    def success_rate(self) -> float | None:
        """Succeeded of those that ran (0 to 1); None when none ran."""
        return self.succeeded / self.ran if self.ran else None


@dataclass(frozen=True, slots=True, kw_only=True)
class JobVersion:
    """One saved version of a job's definition."""

    job_id: str
    version: int
    definition: JobDefinition
    saved_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class NewOccurrence:
    job_id: str
    fire_time: datetime
    status: OccurrenceStatus
    reason: str | None = None
    execution_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class JobFires:
    """One scheduler decision about one job, applied atomically with the others.

    Applied only if the job's ``next_fire_at`` still equals ``expected_next_fire_at``
    (another scheduler may have handled it first); then executions are inserted (a
    duplicate idempotency key is silently ignored), ledger rows recorded and
    ``next_fire_at`` moved to ``new_next_fire_at``.
    """

    job_id: str
    expected_next_fire_at: datetime
    new_next_fire_at: datetime | None
    executions: Sequence[NewExecution] = field(default_factory=tuple)
    occurrences: Sequence[NewOccurrence] = field(default_factory=tuple)


class AppliedFires(list[Execution]):
    """The executions :meth:`Store.apply_fires` created, and in ``decisions`` the
    decisions it applied (a stale one is left out: its ledger rows were not written)."""

    def __init__(
        self, created: Sequence[Execution] = (), decisions: Sequence[JobFires] = ()
    ) -> None:
        super().__init__(created)
        self.decisions = tuple(decisions)


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredVariable:
    """A variable as stored. ``scope`` is a job id, or None for a global variable.

    ``value`` is the plaintext, or for a ``secret`` variable its encrypted token: the
    store never sees a secret in clear.
    """

    scope: str | None
    name: str
    value: str
    secret: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class NewVariable:
    """A variable to create or replace with a batch of jobs (an import): ``value`` is the
    encrypted token when ``secret``, as for :meth:`Store.set_variable`."""

    scope: str
    name: str
    value: str
    secret: bool


#: The variables to write with saved jobs, made from the saves (a new job's id is only
#: known once it is saved, and a secret value is sealed to its job's id).
VariablesOf = Callable[[Sequence["SaveResult"]], Sequence[NewVariable]]


@dataclass(frozen=True, slots=True)
class Backlog:
    """Executions by where they are, counted by the store (every process agrees)."""

    #: Waiting for a worker: ``queued``, published to the queue or not.
    queued: int
    #: Queued and not yet handed to the queue (the outbox).
    unpublished: int
    #: Claimed by a worker and not finished.
    running: int
    #: Dead-lettered (failed for good), waiting for a rerun by hand.
    dead_letters: int


class Store(metaclass=ABCMeta):
    """Jobs, executions, step results and the ledger. All datetimes are aware UTC."""

    url: str

    @abstractmethod
    async def start(self) -> None:
        """Open the engine. Does not migrate: call :meth:`upgrade` for that."""

    @abstractmethod
    async def close(self) -> None:
        """Dispose of what :meth:`start` opened."""

    @abstractmethod
    async def upgrade(self, plugins: Sequence[MigrationSource] = ()) -> None:
        """Apply every Alembic migration up to head (idempotent): core's, then each
        plugin's (``vecron_register_migrations``) on its own version table, in one
        transaction."""

    @abstractmethod
    def connect(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A connection for reading, for plugins' own tables."""

    @abstractmethod
    def begin(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A write transaction, for plugins' own tables."""

    def reading(self) -> AbstractAsyncContextManager[None]:
        """Reads made inside, by this task, share one connection and its transaction: a
        service that reads several times to answer once (a page and its statistics)
        pays for one connection, not one each. Only for reads made one after another:
        not around a write (on SQLite a read after it may not see it) nor around reads
        run concurrently (a task started inside inherits the connection). Nested, the
        outer one is the one used. Other tasks read on their own. (This default shares
        nothing.)"""
        return nullcontext()

    # -- jobs ---------------------------------------------------------------------
    @abstractmethod
    async def save_job(
        self,
        definition: JobDefinition,
        *,
        next_fire_at: datetime | None,
        now: datetime,
        audit: AuditEntry | None = None,
    ) -> SaveResult:
        """Create the job named ``definition.name`` or update it.

        An update whose definition differs stores a new version (version + 1); an
        identical one changes nothing and returns ``unchanged`` (and writes no
        ``audit``). ``enabled`` comes from the definition. Bumps the change revision
        unless unchanged.
        """

    async def save_jobs(
        self,
        items: Sequence[tuple[JobDefinition, datetime | None]],
        *,
        now: datetime,
        audit: AuditEntry | Sequence[AuditEntry | None] | None = None,
        create_only: bool = False,
        variables: VariablesOf | None = None,
    ) -> list[SaveResult]:
        """:meth:`save_job` for each ``(definition, next_fire_at)``, all or nothing.

        ``audit`` is one entry for the whole batch (written if any job changed) or one
        per item, in order (each written if its job changed; None for none).
        ``variables`` gives the variables to set with the jobs, from the saves' results.

        Backends should override this with one transaction; the default saves one by one.

        :raises ConflictError: ``create_only`` and a job of that name exists (nothing
            is saved); checked in the saving transaction, so of two concurrent creates
            of one name one is refused.
        """
        if create_only:
            taken = await self.jobs_by_name([d.name for d, _ in items])
            if taken:
                from vecron.errors import ConflictError

                name = min(taken)
                raise ConflictError(
                    f"job {name!r} exists already", field="name", reason="job-exists"
                )
        results = [await self.save_job(d, next_fire_at=n, now=now) for d, n in items]
        for v in variables(results) if variables is not None else ():
            await self.set_variable(v.scope, v.name, v.value, secret=v.secret, now=now)
        for entry in audit_for_saves(audit, results):
            await self.add_audit(entry)
        return results

    @abstractmethod
    async def get_job(self, ref: str) -> JobRecord:
        """By id or by name. :raises NotFoundError: no such job."""

    async def jobs_by_name(self, names: Sequence[str]) -> dict[str, JobRecord]:
        """The jobs with these names that exist. Backends should override this with one
        query; the default asks one by one."""
        from vecron.errors import NotFoundError

        found: dict[str, JobRecord] = {}
        for name in dict.fromkeys(names):
            try:
                job = await self.get_job(name)
            except NotFoundError:
                continue
            if job.name == name:
                found[name] = job
        return found

    @abstractmethod
    async def list_jobs(
        self,
        *,
        enabled: bool | None = None,
        search: str | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[JobRecord]:
        """Jobs ordered by name: only enabled (or disabled) ones with ``enabled``, only
        those whose name holds ``search`` (any case) with it, only names after
        ``after``; at most ``limit`` (None: all). A range scan of the name index."""

    @abstractmethod
    async def job_stats(self, job_ids: Sequence[str], *, since: datetime) -> dict[str, JobStats]:
        """For each of ``job_ids`` that exists, its :class:`JobStats` counting executions
        finished at or after ``since``; one query, index range scans per job."""

    @abstractmethod
    async def job_versions(self, job_id: str) -> list[JobVersion]:
        """Every saved version of the job, oldest first (empty: no such job)."""

    @abstractmethod
    async def delete_job(self, job_id: str, *, audit: AuditEntry | None = None) -> None:
        """Delete the job and its versions; executions stay as history.

        Executions still ``queued`` are cancelled. :raises NotFoundError:
        """

    @abstractmethod
    async def set_enabled(
        self,
        job_id: str,
        enabled: bool,
        *,
        next_fire_at: datetime | None,
        now: datetime,
        audit: AuditEntry | None = None,
    ) -> JobRecord:
        """Enable or disable without a new version. Disabling cancels ``queued`` executions
        not yet started. :raises NotFoundError:"""

    @abstractmethod
    async def set_next_fire(
        self, job_id: str, next_fire_at: datetime | None, *, last_finished_at: datetime | None
    ) -> None:
        """Reschedule outside a tick (fixed delay after a finish). Bumps the revision."""

    @abstractmethod
    async def job_definition(self, job_id: str, version: int) -> JobDefinition:
        """The definition an execution was created with. :raises NotFoundError:"""

    async def job_definitions(
        self, keys: Sequence[tuple[str, int]]
    ) -> dict[tuple[str, int], JobDefinition]:
        """Several (job id, version) definitions at once; missing ones are left out.

        Backends should override this with one query; the default asks one by one.
        """
        from vecron.errors import NotFoundError

        found: dict[tuple[str, int], JobDefinition] = {}
        for job_id, version in dict.fromkeys(keys):
            try:
                found[(job_id, version)] = await self.job_definition(job_id, version)
            except NotFoundError:
                continue
        return found

    @abstractmethod
    async def revision(self) -> int:
        """A counter bumped by every job change and every retry scheduled; lets other
        processes notice changes cheaply."""

    # -- scheduling ---------------------------------------------------------------
    @abstractmethod
    async def due_jobs(self, horizon: datetime, limit: int) -> list[JobRecord]:
        """Enabled jobs with ``next_fire_at <= horizon``, earliest first (index scan)."""

    @abstractmethod
    async def next_wakeup(self) -> datetime | None:
        """The earliest of: enabled jobs' ``next_fire_at``, and ``not_before`` of queued,
        unpublished executions. None when nothing is pending."""

    @abstractmethod
    async def apply_fires(
        self, fires: Sequence[JobFires], *, epoch: int | None = None
    ) -> AppliedFires:
        """Apply scheduler decisions in one transaction; return the executions created.

        With ``epoch``, the transaction first checks that it is still the scheduler
        leadership epoch in the database; a paused ex-leader's batch is refused whole.

        :raises FencedOut: another scheduler was elected since ``epoch``.
        """

    @abstractmethod
    async def elect(self, owner: str, now: datetime) -> int:
        """Record ``owner`` as the scheduler leader and return the new, higher epoch."""

    @abstractmethod
    async def now(self) -> datetime:
        """The database's clock (every scheduler agrees on it)."""

    @abstractmethod
    async def stranded(
        self, *, now: datetime, unclaimed_before: datetime, limit: int
    ) -> list[Execution]:
        """Executions a worker should have but does not: ``running`` with a lease that
        expired before ``now`` (its worker died), and ``queued``, published, due before
        ``unclaimed_before`` yet never claimed (the broker lost the message)."""

    @abstractmethod
    async def rerun(
        self,
        execution_id: str,
        *,
        extra_attempts: int,
        now: datetime,
        audit: AuditEntry | None = None,
    ) -> Execution:
        """Put a dead-lettered execution back in the queue with ``extra_attempts`` more
        attempts; its recorded step results stay, so it resumes at the failed step.

        :raises NotFoundError: no such execution.
        :raises ConflictError: it is not dead-lettered.
        """

    @abstractmethod
    async def active_jobs(self, job_ids: Sequence[str]) -> set[str]:
        """Those of ``job_ids`` with an active execution (``queued`` or ``running``,
        :data:`~vecron.models.execution.ACTIVE_STATUSES`)."""

    @abstractmethod
    async def create_execution(
        self, new: NewExecution, *, exclusive: bool = False, audit: AuditEntry | None = None
    ) -> tuple[Execution, bool]:
        """Insert one execution (manual runs) and return it with True.

        If its idempotency key exists, return the existing execution and False, whatever
        its status and ``exclusive``: a retried request gets the run it started (and
        ``audit`` is not written: nothing changed).

        With ``exclusive`` (an ``overlap: skip`` job) the execution is inserted only if
        no execution holds the job (:func:`vecron.models.overlap.holds`); the check and
        the insert are one atomic step, so of any number of concurrent exclusive calls
        for a job, from any process, at most one creates an execution.

        :raises ConflictError: ``exclusive`` and an execution (under another idempotency
            key) holds the job: running, between attempts, or a manual or webhook run
            not started yet.
        :raises NotFoundError: ``exclusive`` and the job does not exist.
        """

    @abstractmethod
    async def pending_publish(self, horizon: datetime, limit: int) -> list[Execution]:
        """Queued, unpublished executions with ``not_before <= horizon``, earliest first."""

    @abstractmethod
    async def mark_published(self, published: Sequence[Execution]) -> None:
        """Record that these executions were handed to the queue — each only while it is
        still queued at the attempt it had when published (a retry recorded meanwhile
        stays unpublished, so it is sent)."""

    # -- workers ------------------------------------------------------------------
    @abstractmethod
    async def claim(
        self, ids: Sequence[str], owner: str, *, lease_until: datetime, now: datetime
    ) -> list[Execution]:
        """Atomically take executions that are ``queued``, or ``running`` with a lease
        expired before ``now``: status running, lease to ``owner``, attempt + 1,
        ``started_at`` set if unset. Returns what was claimed (others are ignored)."""

    @abstractmethod
    async def extend_leases(
        self, ids: Sequence[str], owner: str, lease_until: datetime
    ) -> set[str]:
        """Push out leases still held by ``owner``; return the ids among them that
        someone asked to cancel (:meth:`cancel_execution`): the worker stops those."""

    @abstractmethod
    async def cancel_execution(
        self,
        execution_id: str,
        *,
        now: datetime,
        reason: str,
        audit: AuditEntry | None = None,
    ) -> Execution:
        """Cancel an execution by hand.

        A ``queued`` one (new, or waiting for a retry) becomes ``cancelled`` at once
        (``finished_at`` = ``now``, ``error`` = ``reason``). A ``running`` one gets
        ``cancel_requested_at`` = ``now`` and stays running: the worker holding it sees
        that when it next extends its leases and records ``cancelled``. A second
        request for a running one changes nothing (and writes no ``audit``).

        :raises NotFoundError: no such execution.
        :raises ConflictError: it has finished (any final status; reason
            ``execution-finished``).
        """

    @abstractmethod
    async def record(
        self, results: Sequence[StepResult], outcomes: Sequence[Outcome]
    ) -> list[bool]:
        """In one transaction: upsert step results (key: execution, step) and apply
        outcomes. An outcome applies only while ``owner`` holds the execution at that
        ``attempt``; the returned list says which applied. A finished outcome also sets
        the job's ``last_finished_at``; a retry (QUEUED) sets ``not_before``, clears the
        lease, marks it unpublished and bumps the revision."""

    @abstractmethod
    async def advance_alerts(
        self,
        job_ids: Sequence[str],
        step: Callable[[Mapping[str, AlertState]], Mapping[str, AlertState]],
    ) -> None:
        """Advance the alert state of ``job_ids`` in one transaction: ``step`` gets each
        job's state (a new job's is ``AlertState()``) read under the write lock and
        returns the states to store. Concurrent calls for one job run one after the
        other, so each sees the other's result."""

    @abstractmethod
    async def get_execution(self, execution_id: str) -> Execution:
        """:raises NotFoundError:"""

    @abstractmethod
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
        """Newest first by ``(created_at, id)``: only the job's, in ``status``, from
        ``trigger`` (the execution's ``trigger``), created at or after ``since`` and
        before ``until``, strictly before ``before``. At most ``limit``; a range scan of
        an index with or without a job and a status, however many rows there are."""

    @abstractmethod
    async def dead_letters(
        self, *, job_id: str | None = None, before: Position | None = None, limit: int = 50
    ) -> list[Execution]:
        """Dead-lettered executions (``dead_lettered_at`` set: failed for good, waiting
        for a rerun by hand), last dead-lettered first by ``(dead_lettered_at, id)``,
        strictly before ``before``; at most ``limit``."""

    @abstractmethod
    async def backlog(self) -> Backlog:
        """How many executions are queued, unpublished, running and dead-lettered now:
        one cheap indexed query, for the metrics every process serves."""

    @abstractmethod
    async def step_results(self, execution_id: str) -> list[StepResult]:
        """In the order they were recorded."""

    @abstractmethod
    async def occurrences(self, job_id: str, limit: int = 100) -> list[Occurrence]:
        """The ledger for a job, newest fire time first."""

    # -- variables ----------------------------------------------------------------
    @abstractmethod
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
        """Create or replace the variable ``name`` in ``scope`` (a job id; None = global).
        ``value`` is the token when ``secret``. ``created_at`` survives a replace."""

    @abstractmethod
    async def get_variable(self, scope: str | None, name: str) -> StoredVariable | None:
        """The variable ``name`` in exactly ``scope`` (no fallback to global)."""

    @abstractmethod
    async def list_variables(
        self, *, scope: str | None = None, every_scope: bool = False
    ) -> list[StoredVariable]:
        """The variables of ``scope`` (None = global), or with ``every_scope`` all of
        them; global ones first, then by scope and name."""

    @abstractmethod
    async def delete_variable(
        self, scope: str | None, name: str, *, audit: AuditEntry | None = None
    ) -> bool:
        """Delete it; False when there was no such variable (``audit`` not written)."""

    @abstractmethod
    async def variables_for_jobs(self, job_ids: Sequence[str]) -> dict[str, list[StoredVariable]]:
        """For each job id: the global variables and its own, in one query. A job-scoped
        variable comes after the global one of the same name (the later one wins)."""

    async def variables_for_job(self, job_id: str) -> list[StoredVariable]:
        """:meth:`variables_for_jobs` for one job."""
        return (await self.variables_for_jobs([job_id]))[job_id]

    @abstractmethod
    async def rotate_secret_values(
        self, rotate: Callable[[StoredVariable], str], *, audit: AuditEntry | None = None
    ) -> int:
        """Replace every secret variable's token with ``rotate(variable)``, all in one
        transaction (an exception from ``rotate`` changes nothing, ``audit`` included).
        Returns the count."""

    # -- audit ----------------------------------------------------------------------
    @abstractmethod
    async def add_audit(self, entry: AuditEntry) -> None:
        """Record an entry that goes with no change: a refused or failed attempt.

        :raises ConflictError: an entry with this id exists.
        """

    @abstractmethod
    async def list_audit(
        self, *, before: Position | None = None, **filters: Unpack[AuditFilters]
    ) -> list[AuditEntry]:
        """Entries matching every filter given (``since``: at or after), newest first by
        ``(at, id)``, strictly before ``before`` when given, at most ``limit`` (default
        :data:`~vecron.auth.audit.DEFAULT_AUDIT_LIMIT`).

        :raises ValidationError: ``limit`` is negative.
        """


def audit_for_saves(
    audit: AuditEntry | Sequence[AuditEntry | None] | None, results: Sequence[SaveResult]
) -> list[AuditEntry]:
    """The entries a batch save writes: a single entry once if any job changed, or from
    one entry per item those whose job changed.

    :raises ValidationError: a sequence of entries not one per item.
    """
    changed = [result.change != "unchanged" for result in results]
    if audit is None:
        return []
    if isinstance(audit, AuditEntry):
        return [audit] if any(changed) else []
    entries = list(audit)
    if len(entries) != len(results):
        raise ValidationError(
            f"{len(entries)} audit entries for {len(results)} jobs", field="audit"
        )
    return [e for e, change in zip(entries, changed, strict=True) if change and e is not None]

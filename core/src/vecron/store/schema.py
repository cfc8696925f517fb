"""The tables as SQLAlchemy Core objects, for queries.

Migration ``0001`` creates the same tables; a change here needs a new migration.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
    type_coerce,
)
from sqlalchemy.types import TypeEngine

from vecron.store.timestamp import UtcDateTime

ID_LENGTH = 36
NAME_LENGTH = 128
REVISION_ROW = 1


def json_type() -> TypeEngine[Any]:
    """JSON kept as text on both servers.

    Not JSONB: it rejects ``\\u0000`` in strings and stores numbers as ``numeric``, so
    ``1e308`` would come back as an int — and a definition that does not read back
    equal would look changed on every save.
    """
    return JSON()


#: The predicates of the partial indexes; a query must repeat them to use the index.
FINISHED = "finished_at IS NOT NULL"
DEAD_LETTERED = "dead_lettered_at IS NOT NULL"

metadata = MetaData()

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("name", String(NAME_LENGTH), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    Column("definition", json_type(), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("next_fire_at", UtcDateTime),
    Column("last_finished_at", UtcDateTime),
    UniqueConstraint("name", name="uq_jobs_name"),
    # The scheduler's due query is a range scan over enabled jobs only.
    Index(
        "ix_jobs_due",
        "next_fire_at",
        "id",
        sqlite_where=text("enabled = 1"),
        postgresql_where=text("enabled"),
    ),
)

#: The jobs table's columns as read for a JobRecord, the definition left as its JSON
#: text: ``rows.job_definition`` decodes it only when that (job id, version) is not
#: cached yet, and decoding fifty definitions was a tenth of what a page of jobs cost.
JOB_READ_COLUMNS = (
    *(column for column in jobs.c if column.name != "definition"),
    type_coerce(jobs.c.definition, Text).label("definition"),
)

job_versions = Table(
    "job_versions",
    metadata,
    Column("job_id", String(ID_LENGTH), nullable=False),
    Column("version", Integer, nullable=False),
    Column("definition", json_type(), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("job_id", "version"),
)

executions = Table(
    "executions",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("job_id", String(ID_LENGTH), nullable=False),
    Column("job_name", String(NAME_LENGTH), nullable=False),
    Column("job_version", Integer, nullable=False),
    Column("idempotency_key", String(512), nullable=False),
    Column("trigger", String(64), nullable=False),
    Column("triggered_by", String(256)),
    Column("scheduled_at", UtcDateTime),
    Column("not_before", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("params", json_type(), nullable=False),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Column("lease_owner", String(256)),
    Column("lease_expires_at", UtcDateTime),
    Column("error", Text),
    Column("dead_lettered_at", UtcDateTime),
    Column("published", Boolean, nullable=False),
    # sha256 of what a manual run asked for: a reused idempotency key must ask the same.
    Column("request_fingerprint", String(64)),
    # A running execution's worker cancels it at its next lease extension.
    Column("cancel_requested_at", UtcDateTime),
    # What an event trigger handed over (a webhook's payload); NULL for the rest.
    Column("trigger_data", json_type()),
    UniqueConstraint("idempotency_key", name="uq_executions_idempotency_key"),
    Index("ix_executions_publish", "status", "published", "not_before"),
    # Listings page newest first by (created_at, id): each filter the API offers is a
    # range scan of one of these, never a sort (history.executions_query).
    Index("ix_executions_newest", "created_at", "id"),
    Index("ix_executions_job_newest", "job_id", "created_at", "id"),
    Index("ix_executions_status_newest", "status", "created_at", "id"),
    Index("ix_executions_job_status_newest", "job_id", "status", "created_at", "id"),
    # Job statistics; partial, so an execution has one entry (when it ends), not one per
    # state it passes through.
    Index(
        "ix_executions_job_finished",
        "job_id",
        "finished_at",
        "status",
        sqlite_where=text(FINISHED),
        postgresql_where=text(FINISHED),
    ),
    # The dead letters: only dead-lettered rows are in these.
    Index(
        "ix_executions_dead_letters",
        "dead_lettered_at",
        "id",
        sqlite_where=text(DEAD_LETTERED),
        postgresql_where=text(DEAD_LETTERED),
    ),
    Index(
        "ix_executions_job_dead_letters",
        "job_id",
        "dead_lettered_at",
        "id",
        sqlite_where=text(DEAD_LETTERED),
        postgresql_where=text(DEAD_LETTERED),
    ),
)

step_results = Table(
    "step_results",
    metadata,
    Column("execution_id", String(ID_LENGTH), nullable=False),
    Column("step_id", String(64), nullable=False),
    # When the step was first recorded: step_results() returns them in this order.
    Column("seq", BigInteger, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=False),
    # No output: step outputs live in the Job Context in object storage (S2.3).
    Column("error", Text),
    PrimaryKeyConstraint("execution_id", "step_id"),
)

occurrences = Table(
    "occurrences",
    metadata,
    Column("job_id", String(ID_LENGTH), nullable=False),
    Column("fire_time", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", Text),
    Column("execution_id", String(ID_LENGTH)),
    Column("recorded_at", UtcDateTime, nullable=False),
    UniqueConstraint("job_id", "fire_time", name="uq_occurrences_job_fire"),
    Index("ix_occurrences_execution", "execution_id"),
)

scheduler_leader = Table(
    "scheduler_leader",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("epoch", BigInteger, nullable=False),
    Column("owner", String(200), nullable=False),
    Column("elected_at", UtcDateTime, nullable=False),
)

#: The ``scope`` of a global variable; a job-scoped one has its job's id.
GLOBAL_SCOPE = ""

variables = Table(
    "variables",
    metadata,
    # Not NULL for global: a NULL would never conflict in the primary key on PostgreSQL.
    Column("scope", String(ID_LENGTH), nullable=False),
    Column("name", String(NAME_LENGTH), nullable=False),
    # A secret's value is only ever its Fernet token (vecron.secrets.box).
    Column("value", Text, nullable=False),
    Column("secret", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("scope", "name"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    # Text, not VARCHAR(n): an overlong actor or resource must not make the change it
    # describes fail on PostgreSQL while SQLite would take it.
    Column("actor", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("address", Text),
    Column("action", Text, nullable=False),
    Column("resource", Text, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("detail", json_type(), nullable=False),
    # list_audit: newest first, overall or for one resource or actor.
    Index("ix_audit_log_at", "at", "id"),
    Index("ix_audit_log_resource_at", "resource", "at", "id"),
    Index("ix_audit_log_actor_at", "actor", "at", "id"),
)

#: Alerting's memory per job (:class:`vecron.models.alerts.AlertState`), shared by every
#: process, so that a streak survives restarts and is alerted once whichever worker saw
#: its executions finish.
alert_states = Table(
    "alert_states",
    metadata,
    Column("job_id", String(ID_LENGTH), primary_key=True),
    Column("streak", Integer, nullable=False),
    Column("alerted_at", UtcDateTime),
    Column("notified_at", UtcDateTime),
)

revision = Table(
    "revision",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("value", BigInteger, nullable=False),
)

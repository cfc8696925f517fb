"""Create jobs, job_versions, executions, step_results, occurrences and revision.

Revision ID: 0001
Revises:
Create Date: 2025-11-22
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _json() -> sa.types.TypeEngine[Any]:
    # Plain JSON, not JSONB: see vecron.store.schema.json_type.
    return sa.JSON()


def _ts() -> sa.DateTime:
    # Naive UTC text on SQLite, timestamptz on PostgreSQL (see vecron.store.timestamp).
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", _json(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.Column("next_fire_at", _ts()),
        sa.Column("last_finished_at", _ts()),
        sa.UniqueConstraint("name", name="uq_jobs_name"),
    )
    op.create_index(
        "ix_jobs_due",
        "jobs",
        ["next_fire_at", "id"],
        sqlite_where=sa.text("enabled = 1"),
        postgresql_where=sa.text("enabled"),
    )

    op.create_table(
        "job_versions",
        sa.Column("job_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", _json(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "version"),
    )

    op.create_table(
        "executions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("job_id", sa.String(36), nullable=False),
        sa.Column("job_name", sa.String(128), nullable=False),
        sa.Column("job_version", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(512), nullable=False),
        sa.Column("trigger", sa.String(64), nullable=False),
        sa.Column("triggered_by", sa.String(256)),
        sa.Column("scheduled_at", _ts()),
        sa.Column("not_before", _ts(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("params", _json(), nullable=False),
        sa.Column("started_at", _ts()),
        sa.Column("finished_at", _ts()),
        sa.Column("lease_owner", sa.String(256)),
        sa.Column("lease_expires_at", _ts()),
        sa.Column("error", sa.Text()),
        sa.Column("dead_lettered_at", _ts()),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("idempotency_key", name="uq_executions_idempotency_key"),
    )
    op.create_index("ix_executions_publish", "executions", ["status", "published", "not_before"])
    op.create_index("ix_executions_job_status", "executions", ["job_id", "status"])
    op.create_index("ix_executions_job_created", "executions", ["job_id", "created_at"])
    op.create_index("ix_executions_created", "executions", ["created_at"])

    op.create_table(
        "step_results",
        sa.Column("execution_id", sa.String(36), nullable=False),
        sa.Column("step_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", _ts(), nullable=False),
        sa.Column("finished_at", _ts(), nullable=False),
        sa.Column("output", _json()),
        sa.Column("error", sa.Text()),
        sa.PrimaryKeyConstraint("execution_id", "step_id"),
    )

    op.create_table(
        "occurrences",
        sa.Column("job_id", sa.String(36), nullable=False),
        sa.Column("fire_time", _ts(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("execution_id", sa.String(36)),
        sa.Column("recorded_at", _ts(), nullable=False),
        sa.UniqueConstraint("job_id", "fire_time", name="uq_occurrences_job_fire"),
    )

    revision_table = op.create_table(
        "revision",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(revision_table, [{"id": 1, "value": 0}])


def downgrade() -> None:
    op.drop_table("revision")
    op.drop_table("occurrences")
    op.drop_table("step_results")
    op.drop_table("executions")
    op.drop_table("job_versions")
    op.drop_index("ix_jobs_due", table_name="jobs")
    op.drop_table("jobs")

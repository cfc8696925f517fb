"""What the REST API lists and asks: keyset indexes, idempotency fingerprints, cancels.

- Executions are listed newest first and paged by ``(created_at, id)``: one index per
  filter the listing is fast for (none, job, status, job and status), each ending in
  ``created_at, id`` so that a page is a range scan of it, never a sort.
- The dead letters are paged by ``(dead_lettered_at, id)``; partial indexes hold only
  the dead-lettered rows, so they cost nothing for the rest.
- Job statistics read each job's finished executions by ``finished_at``; a partial index
  holds only finished rows (one entry per execution, not one per state it passed).
- ``request_fingerprint``: what a manual run asked for, so that an idempotency key
  reused for another request is refused rather than silently answered.
- ``cancel_requested_at``: a running execution's worker cancels it at its next lease
  extension.
- The audit log's per-actor and per-resource indexes end in ``id`` too (keyset paging).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

DEAD = "dead_lettered_at IS NOT NULL"
FINISHED = "finished_at IS NOT NULL"


def upgrade() -> None:
    op.add_column("executions", sa.Column("request_fingerprint", sa.String(64)))
    op.add_column("executions", sa.Column("cancel_requested_at", sa.DateTime(timezone=True)))
    for old in ("ix_executions_job_status", "ix_executions_job_created", "ix_executions_created"):
        op.drop_index(old, table_name="executions")
    op.create_index("ix_executions_newest", "executions", ["created_at", "id"])
    op.create_index("ix_executions_job_newest", "executions", ["job_id", "created_at", "id"])
    op.create_index("ix_executions_status_newest", "executions", ["status", "created_at", "id"])
    op.create_index(
        "ix_executions_job_status_newest", "executions", ["job_id", "status", "created_at", "id"]
    )
    op.create_index(
        "ix_executions_job_finished",
        "executions",
        ["job_id", "finished_at", "status"],
        sqlite_where=sa.text(FINISHED),
        postgresql_where=sa.text(FINISHED),
    )
    op.create_index(
        "ix_executions_dead_letters",
        "executions",
        ["dead_lettered_at", "id"],
        sqlite_where=sa.text(DEAD),
        postgresql_where=sa.text(DEAD),
    )
    op.create_index(
        "ix_executions_job_dead_letters",
        "executions",
        ["job_id", "dead_lettered_at", "id"],
        sqlite_where=sa.text(DEAD),
        postgresql_where=sa.text(DEAD),
    )
    for column in ("resource", "actor"):
        op.drop_index(f"ix_audit_log_{column}_at", table_name="audit_log")
        op.create_index(f"ix_audit_log_{column}_at", "audit_log", [column, "at", "id"])


def downgrade() -> None:
    for column in ("resource", "actor"):
        op.drop_index(f"ix_audit_log_{column}_at", table_name="audit_log")
        op.create_index(f"ix_audit_log_{column}_at", "audit_log", [column, "at"])
    for new in (
        "ix_executions_job_dead_letters",
        "ix_executions_dead_letters",
        "ix_executions_job_finished",
        "ix_executions_job_status_newest",
        "ix_executions_status_newest",
        "ix_executions_job_newest",
        "ix_executions_newest",
    ):
        op.drop_index(new, table_name="executions")
    op.create_index("ix_executions_job_status", "executions", ["job_id", "status"])
    op.create_index("ix_executions_job_created", "executions", ["job_id", "created_at"])
    op.create_index("ix_executions_created", "executions", ["created_at"])
    with op.batch_alter_table("executions") as batch:
        batch.drop_column("cancel_requested_at")
        batch.drop_column("request_fingerprint")

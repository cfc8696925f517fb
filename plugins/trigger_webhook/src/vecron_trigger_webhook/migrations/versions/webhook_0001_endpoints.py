"""Webhook endpoints: a job's hook id and its sealed signing secrets.

Revision ID: webhook_0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "webhook_0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("job_id", sa.String(64), primary_key=True),
        sa.Column("hook_id", sa.String(64), nullable=False),
        sa.Column("sealed_secret", sa.Text(), nullable=False),
        sa.Column("sealed_previous", sa.Text()),
        sa.Column("previous_until", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("hook_id", name="uq_webhook_endpoints_hook_id"),
    )


def downgrade() -> None:
    op.drop_table("webhook_endpoints")

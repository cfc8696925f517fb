"""Alerting's state per job: the current failure streak, when it was alerted and last
notified. Shared by every process, so a streak survives restarts and is alerted once.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "alert_states",
        sa.Column("job_id", sa.String(36), primary_key=True),
        sa.Column("streak", sa.Integer(), nullable=False),
        sa.Column("alerted_at", sa.DateTime(timezone=True)),
        sa.Column("notified_at", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.drop_table("alert_states")

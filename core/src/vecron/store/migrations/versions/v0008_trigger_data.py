"""What an event trigger handed over, kept with its execution.

- ``trigger_data``: a webhook's payload, query and headers (or another event trigger's
  data), written once when the execution is created. A worker in any process reads it
  from here into the Job Context; NULL for scheduled and manual runs.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Plain JSON, not JSONB: see vecron.store.schema.json_type.
    op.add_column("executions", sa.Column("trigger_data", sa.JSON()))


def downgrade() -> None:
    with op.batch_alter_table("executions") as batch:
        batch.drop_column("trigger_data")

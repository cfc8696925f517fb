"""Step outputs live only in the Job Context in object storage (S2.3): drop the column.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # SQLite cannot drop a column in place everywhere: batch mode copies the table.
    with op.batch_alter_table("step_results") as batch:
        batch.drop_column("output")


def downgrade() -> None:
    with op.batch_alter_table("step_results") as batch:
        batch.add_column(sa.Column("output", sa.JSON()))

"""Index the ledger by execution, so an overlap skip can update its occurrence.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index("ix_occurrences_execution", "occurrences", ["execution_id"])


def downgrade() -> None:
    op.drop_index("ix_occurrences_execution", table_name="occurrences")

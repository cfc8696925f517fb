"""Users, custom roles, refresh tokens and signing keys of the database auth backend.

Revision ID: auth_db_0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "auth_db_0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _ts() -> sa.DateTime:
    # Naive UTC text on SQLite, timestamptz on PostgreSQL (vecron_auth_db.tables.UtcDateTime).
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "auth_users",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("password_hash", sa.String(512), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("token_generation", sa.Integer(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.UniqueConstraint("name", name="uq_auth_users_name"),
    )
    op.create_table(
        "auth_roles",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("permissions", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
    )
    op.create_table(
        "auth_refresh_tokens",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("family", sa.String(36), nullable=False),
        sa.Column("issued_at", _ts(), nullable=False),
        sa.Column("expires_at", _ts(), nullable=False),
        sa.Column("revoked_at", _ts()),
        sa.Column("replaced_by", sa.String(36)),
        sa.UniqueConstraint("token_hash", name="uq_auth_refresh_tokens_hash"),
    )
    op.create_index("ix_auth_refresh_tokens_user", "auth_refresh_tokens", ["user_id"])
    op.create_index("ix_auth_refresh_tokens_family", "auth_refresh_tokens", ["family"])
    op.create_table(
        "auth_signing_keys",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("sealed_key", sa.Text(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("retired_at", _ts()),
    )


def downgrade() -> None:
    op.drop_table("auth_signing_keys")
    op.drop_index("ix_auth_refresh_tokens_family", "auth_refresh_tokens")
    op.drop_index("ix_auth_refresh_tokens_user", "auth_refresh_tokens")
    op.drop_table("auth_refresh_tokens")
    op.drop_table("auth_roles")
    op.drop_table("auth_users")

"""Revoked tokens, refresh tokens, throttling counters, and the outbox and inbox.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bus.migrations import create_outbox_and_inbox, drop_outbox_and_inbox

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMPTZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    # The brief's table, column for column. ``token`` holds the JWT's jti,
    # never the JWT (see contexts.auth.models.BlacklistedToken).
    op.create_table(
        "blacklisted_tokens",
        sa.Column("token", sa.Text(), primary_key=True),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", TIMESTAMPTZ, nullable=False),
        sa.Column("created_at", TIMESTAMPTZ, server_default=sa.func.now()),
    )
    op.create_index(
        "ix_blacklisted_tokens_expires_at", "blacklisted_tokens", ["expires_at"]
    )

    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.CHAR(64), nullable=False),
        sa.Column("access_jti", sa.String(64), nullable=False),
        sa.Column("access_expires_at", TIMESTAMPTZ, nullable=False),
        sa.Column("created_at", TIMESTAMPTZ, nullable=False),
        sa.Column("expires_at", TIMESTAMPTZ, nullable=False),
        sa.Column("used_at", TIMESTAMPTZ, nullable=True),
        sa.Column("revoked_at", TIMESTAMPTZ, nullable=True),
        sa.Column("revoked_reason", sa.String(16), nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_refresh_tokens_token_hash"),
    )
    op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"])
    op.create_index("ix_refresh_tokens_user_id", "refresh_tokens", ["user_id"])
    op.create_index("ix_refresh_tokens_expires_at", "refresh_tokens", ["expires_at"])

    op.create_table(
        "throttle_counters",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("window_started_at", TIMESTAMPTZ, nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
    )
    op.create_index(
        "ix_throttle_counters_window_started_at",
        "throttle_counters",
        ["window_started_at"],
    )

    create_outbox_and_inbox()


def downgrade() -> None:
    drop_outbox_and_inbox()
    op.drop_table("throttle_counters")
    op.drop_table("refresh_tokens")
    op.drop_table("blacklisted_tokens")

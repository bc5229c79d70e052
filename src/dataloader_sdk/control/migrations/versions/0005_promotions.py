"""Promotions: requests to promote dataloader_test configs to dataloader, approvals and rollbacks.

Adds ``promotions`` (written in the prod environment by ``control/promotion.py``; created
in both environments so the two schemas stay identical): one row per request with the
per-table diff, watermark choices and prod versions at the request (``items``), the prod
rows an approval replaced (``replaced``, for the rollback), who requested, approved and
rolled back, the audit change set, and when the ``dataloader_test`` audit rows of the
approval were written. New table, no data to move.

Revision ID: 0005_promotions
Revises: 0004_audit_change_sets
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_promotions"
down_revision: str | None = "0004_audit_change_sets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ``promotions`` in the environment's schema."""
    schema = op.get_context().version_table_schema
    op.create_table(
        "promotions",
        sa.Column("promotion_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("replaced", sa.JSON()),
        sa.Column("requested_by", sa.String(255), nullable=False),
        sa.Column("requested_at", _ts(), nullable=False),
        sa.Column("approved_by", sa.String(255)),
        sa.Column("approved_at", _ts()),
        sa.Column("rolled_back_by", sa.String(255)),
        sa.Column("rolled_back_at", _ts()),
        sa.Column("change_set", sa.String(32)),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("test_audited_at", _ts()),
        sa.PrimaryKeyConstraint("promotion_id", name="pk_promotions"),
        schema=schema,
    )
    op.create_index("ix_promotions_status", "promotions", ["status"], schema=schema)


def downgrade() -> None:
    """Drop ``promotions``."""
    schema = op.get_context().version_table_schema
    op.drop_index("ix_promotions_status", "promotions", schema=schema)
    op.drop_table("promotions", schema=schema)

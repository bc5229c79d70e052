"""UI users: the sign-in accounts of the web UI (``dataloader_sdk.ui``).

Adds ``ui_users`` (username, werkzeug scrypt ``password_hash``, role ``viewer`` /
``editor`` / ``approver``, ``created_at``, ``disabled``). The UI reads and writes it in the
prod (``dataloader``) environment only; it is created in both environments so the two
schemas stay identical. New table, no data to move.

Revision ID: 0007_ui_users
Revises: 0006_cancelled_runs
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_ui_users"
down_revision: str | None = "0006_cancelled_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``ui_users`` in the environment's schema."""
    schema = op.get_context().version_table_schema
    op.create_table(
        "ui_users",
        sa.Column("username", sa.String(255), nullable=False),
        sa.Column("password_hash", sa.String(512), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("username", name="pk_ui_users"),
        schema=schema,
    )


def downgrade() -> None:
    """Drop ``ui_users``."""
    schema = op.get_context().version_table_schema
    op.drop_table("ui_users", schema=schema)

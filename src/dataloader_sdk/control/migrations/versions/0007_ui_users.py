"""UI users: the sign-in accounts of the web UI (``dataloader_sdk.ui``), and the run-history
indexes its dashboard reads through.

Adds ``ui_users`` (username, werkzeug scrypt ``password_hash``, role ``viewer`` /
``editor`` / ``approver``, ``created_at``, ``disabled``). The UI reads and writes it in the
prod (``dataloader``) environment only; it is created in both environments so the two
schemas stay identical. New table, no data to move.

``historical_metadata`` gains two indexes: ``(table_id, finished_at)``, so the last success
of a table is found without aggregating its whole history, and ``(finished_at)``, so the
open runs (``finished_at IS NULL``) of running tables are found without a scan. With
10,000 tables and 1,000,000 runs on PostgreSQL the dashboard's two queries over the history
took 130 ms and 86 ms without them (benchmarks/bench_ui.py).

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

_BY_TABLE = "ix_historical_metadata_table_id_finished_at"
_FINISHED = "ix_historical_metadata_finished_at"


def upgrade() -> None:
    """Create ``ui_users`` and the history indexes in the environment's schema."""
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
    op.create_index(_BY_TABLE, "historical_metadata", ["table_id", "finished_at"],
                    schema=schema)
    op.create_index(_FINISHED, "historical_metadata", ["finished_at"], schema=schema)


def downgrade() -> None:
    """Drop ``ui_users`` and the two history indexes."""
    schema = op.get_context().version_table_schema
    op.drop_index(_FINISHED, "historical_metadata", schema=schema)
    op.drop_index(_BY_TABLE, "historical_metadata", schema=schema)
    op.drop_table("ui_users", schema=schema)

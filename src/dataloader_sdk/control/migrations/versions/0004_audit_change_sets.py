"""Audit change sets: one id shared by the audit rows of one bulk edit, promotion or apply.

``table_control_history`` gains ``change_set`` (nullable, indexed): every audit row written
by one multi-table change (``control/change_sets.py``) carries the same id, so the history
can show, filter and reason about the change as a whole. Rows written before, and
single-entity changes, keep ``NULL``. No data to move.

Revision ID: 0004_audit_change_sets
Revises: 0003_orchestration
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_audit_change_sets"
down_revision: str | None = "0003_orchestration"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "ix_table_control_history_change_set"


def upgrade() -> None:
    """Add ``change_set`` and its index to ``table_control_history`` (batch mode for SQLite)."""
    schema = op.get_context().version_table_schema
    with op.batch_alter_table("table_control_history", schema=schema) as batch:
        batch.add_column(sa.Column("change_set", sa.String(32), nullable=True))
        batch.create_index(_INDEX, ["change_set"])


def downgrade() -> None:
    """Drop ``change_set`` and its index."""
    schema = op.get_context().version_table_schema
    with op.batch_alter_table("table_control_history", schema=schema) as batch:
        batch.drop_index(_INDEX)
        batch.drop_column("change_set")

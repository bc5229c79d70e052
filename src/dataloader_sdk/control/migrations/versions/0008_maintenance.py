"""Table maintenance: a per-table policy and its bookkeeping on ``table_control``.

* ``maintenance`` — the table's maintenance policy as JSON, only the settings that
  differ from the defaults (``NULL``: all defaults; ``model/maintenance.py``);
* ``maintenance_state`` — when maintenance last ran, compacted, vacuumed, the version of
  its last checkpoint and its last error (``NULL``: never ran).

Both nullable, so existing rows keep working unchanged; no data to move.

Revision ID: 0008_maintenance
Revises: 0007_ui_users
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_maintenance"
down_revision: str | None = "0007_ui_users"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("maintenance", "maintenance_state")


def upgrade() -> None:
    """Add the two JSON columns (batch mode for SQLite)."""
    schema = op.get_context().version_table_schema
    with op.batch_alter_table("table_control", schema=schema) as batch:
        for name in _COLUMNS:
            batch.add_column(sa.Column(name, sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    """Drop them (every table goes back to no maintenance)."""
    schema = op.get_context().version_table_schema
    with op.batch_alter_table("table_control", schema=schema) as batch:
        for name in reversed(_COLUMNS):
            batch.drop_column(name)

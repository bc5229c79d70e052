"""The read path of a table: ``table_control.read``.

* ``read`` — how the table's rows are read, as JSON: only the settings that differ from
  the defaults (``NULL``: through the table's connector, as before; ``model/read.py``).
  ``{"path": "jdbc", "partition_column": "id", "partitions": 8}`` has a Spark engine read
  it with Spark JDBC.

Nullable, so existing rows keep working unchanged; no data to move.

Revision ID: 0009_read_path
Revises: 0008_maintenance
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_read_path"
down_revision: str | None = "0008_maintenance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the JSON column (batch mode for SQLite)."""
    schema = op.get_context().version_table_schema
    with op.batch_alter_table("table_control", schema=schema) as batch:
        batch.add_column(sa.Column("read", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    """Drop it (every table goes back to reading through its connector)."""
    schema = op.get_context().version_table_schema
    with op.batch_alter_table("table_control", schema=schema) as batch:
        batch.drop_column("read")

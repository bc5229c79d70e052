"""Identity: a control-DB id and a per-table incarnation, so Delta commits name their owner.

Delta commits written by a run carry the environment, the control DB's id and the
table's incarnation in their app-transaction id and metadata. Reconcile rolls forward
only from commits of its own control DB and incarnation, so two environments sharing a
Delta root, or a table reset or removed and re-added, never adopt another's state.

Existing tables get a fresh incarnation; their earlier commits (app id
``dataloader_sdk:<table_id>``) belong to no incarnation and are never rolled forward
from, while the control state they left (watermark, step) is kept as it is.

Revision ID: 0002_identity
Revises: 0001_initial
Create Date: 2026-11-30
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_identity"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``table_control_meta`` (with the control id) and ``table_control.incarnation``."""
    schema = op.get_context().version_table_schema
    meta = op.create_table(
        "table_control_meta",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_table_control_meta"),
        schema=schema,
    )
    op.bulk_insert(meta, [{"key": "control_id", "value": uuid.uuid4().hex}])

    with op.batch_alter_table("table_control", schema=schema) as batch:
        batch.add_column(sa.Column("incarnation", sa.String(32), nullable=True))
    control = sa.table("table_control", sa.column("table_id", sa.Integer),
                       sa.column("incarnation", sa.String), schema=schema)
    conn = op.get_bind()
    for (table_id,) in conn.execute(sa.select(control.c.table_id)).all():
        conn.execute(sa.update(control).where(control.c.table_id == table_id)
                     .values(incarnation=uuid.uuid4().hex))
    with op.batch_alter_table("table_control", schema=schema) as batch:
        batch.alter_column("incarnation", existing_type=sa.String(32), nullable=False)


def downgrade() -> None:
    """Drop the identity columns (commits written since keep their longer app ids)."""
    schema = op.get_context().version_table_schema
    with op.batch_alter_table("table_control", schema=schema) as batch:
        batch.drop_column("incarnation")
    op.drop_table("table_control_meta", schema=schema)

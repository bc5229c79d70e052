"""Orchestration: queue tokens, hand-out and launch times, and a freshness SLA per table.

``table_control`` gains:

* ``queue_token`` — a random id made every time a table is enqueued by the adapter;
  schedulers de-duplicate launches on ``name:queue_token``, so a retry is never taken
  for a launch already made, and a run launched with an old token refuses to start;
* ``queued_at`` / ``queue_generation`` — when, and at which run generation, the token
  was made (a table queued by another path since gets a new token);
* ``handed_out_at`` / ``launched_at`` — when a scheduler tick last received the table,
  and when a scheduler reported its run launched: a tick that crashed in between has
  its tables handed out again once the hand-out expires;
* ``freshness_sla_seconds`` — how old a table's target may be (``NULL``: a multiple of
  its interval).

All nullable, no data to move: existing rows start with no token (the next tick makes
one for any queued table) and the default SLA.

Revision ID: 0003_orchestration
Revises: 0002_identity
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003_orchestration"
down_revision: str | None = "0002_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS: tuple[tuple[str, sa.types.TypeEngine[Any]], ...] = (
    ("queue_token", sa.String(32)),
    ("queued_at", sa.DateTime(timezone=True)),
    ("queue_generation", sa.Integer()),
    ("handed_out_at", sa.DateTime(timezone=True)),
    ("launched_at", sa.DateTime(timezone=True)),
    ("freshness_sla_seconds", sa.Integer()),
)


def upgrade() -> None:
    """Add the orchestration columns to ``table_control`` (batch mode for SQLite)."""
    schema = op.get_context().version_table_schema
    with op.batch_alter_table("table_control", schema=schema) as batch:
        for name, type_ in _COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
    # The Delta version a run's last commit made (orchestrators report it).
    with op.batch_alter_table("historical_metadata", schema=schema) as batch:
        batch.add_column(sa.Column("delta_version", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    """Drop the orchestration columns."""
    schema = op.get_context().version_table_schema
    with op.batch_alter_table("historical_metadata", schema=schema) as batch:
        batch.drop_column("delta_version")
    with op.batch_alter_table("table_control", schema=schema) as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)

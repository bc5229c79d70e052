"""Cancelled runs: the run status and table status ``cancelled``.

A run stopped by the user (Ctrl-C, SIGTERM, a notebook interrupt) or whose lease was
released with ``dataloader tables unlock`` is recorded as ``cancelled`` in
``historical_metadata.status``, and its table goes ``running → cancelled`` in
``table_control.status`` (``cancelled → queued`` like ``succeeded``).

Why no DDL: both status columns are ``VARCHAR(32)`` without a CHECK constraint (the
statuses are checked in Python, by ``control/status.py`` and ``control/rows.py``), so
``cancelled`` fits as it is, and no earlier version ever wrote it, so there is no data to
fix. Adding CHECK constraints now would mean rebuilding both tables on SQLite for no
behaviour the Python checks do not already give. What this revision does is move the
database to a revision older dataloader-sdk versions do not know: they refuse to open it
(``check_revision``) instead of meeting a status they cannot read.

The downgrade rewrites what older versions cannot read: tables ``cancelled`` become
``idle`` (due again by their schedule, as a cancelled table is), runs ``cancelled``
become ``failed`` (their ``error_class`` ``LoadCancelledError`` still tells why).

Revision ID: 0006_cancelled_runs
Revises: 0005_promotions
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_cancelled_runs"
down_revision: str | None = "0005_promotions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """No DDL and no data to change (see the module docstring)."""


def downgrade() -> None:
    """Turn ``cancelled`` into statuses the previous revision knows."""
    schema = op.get_context().version_table_schema
    conn = op.get_bind()
    control = sa.table("table_control", sa.column("status", sa.String), schema=schema)
    runs = sa.table("historical_metadata", sa.column("status", sa.String), schema=schema)
    conn.execute(sa.update(control).where(control.c.status == "cancelled")
                 .values(status="idle"))
    conn.execute(sa.update(runs).where(runs.c.status == "cancelled").values(status="failed"))

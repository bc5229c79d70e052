"""Cancelled runs: the run status 'cancelled' and what a cancelled run leaves.

STUB: filled in by the work on issue 17 (Ctrl-C). Until then it changes nothing.

Revision ID: 0006_cancelled_runs
Revises: 0005_promotions
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0006_cancelled_runs"
down_revision: str | None = "0005_promotions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet."""


def downgrade() -> None:
    """Nothing yet."""

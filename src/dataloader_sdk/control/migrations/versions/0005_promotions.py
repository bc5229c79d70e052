"""Promotions: requests to promote dataloader_test configs to dataloader, approvals and rollbacks.

STUB: filled in by the work on issue 13 (promotion). Until then it changes nothing.

Revision ID: 0005_promotions
Revises: 0004_audit_change_sets
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0005_promotions"
down_revision: str | None = "0004_audit_change_sets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet."""


def downgrade() -> None:
    """Nothing yet."""

"""Audit change sets: one id shared by the audit rows of one bulk edit, promotion or apply.

STUB: filled in by the work on issue 13 (bulk edit). Until then it changes nothing.

Revision ID: 0004_audit_change_sets
Revises: 0003_orchestration
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0004_audit_change_sets"
down_revision: str | None = "0003_orchestration"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet."""


def downgrade() -> None:
    """Nothing yet."""

"""Initial control schema: sources, tables, run history and the audit log.

Revision ID: 0001_initial
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the four control tables in the environment's schema."""
    # The environment's schema on PostgreSQL, None on SQLite (one file per environment).
    schema = op.get_context().version_table_schema

    op.create_table(
        "table_control_dbconfig",
        sa.Column("source_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("db_type", sa.String(64), nullable=False),
        sa.Column("host", sa.String(255)),
        sa.Column("port", sa.Integer),
        sa.Column("database", sa.String(255)),
        sa.Column("username", sa.String(255)),
        sa.Column("secret_ref", sa.String(1024)),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("source_id", name="pk_table_control_dbconfig"),
        sa.UniqueConstraint("name", name="uq_table_control_dbconfig_name"),
        schema=schema,
    )
    op.create_table(
        "table_control",
        sa.Column("table_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("source_name", sa.String(200), nullable=False),
        sa.Column("source_schema", sa.String(255)),
        sa.Column("source_table", sa.String(255)),
        sa.Column("source_query", sa.Text),
        sa.Column("target", sa.String(800), nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("strategy_options", sa.JSON, nullable=False),
        sa.Column("interval_seconds", sa.Integer),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("state", sa.JSON, nullable=False),
        sa.Column("retry_count", sa.Integer, nullable=False),
        sa.Column("lease_owner", sa.String(255)),
        sa.Column("lease_expires_at", _ts()),
        sa.Column("run_generation", sa.Integer, nullable=False),
        sa.Column("next_run_at", _ts()),
        sa.Column("last_run_at", _ts()),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("table_id", name="pk_table_control"),
        sa.UniqueConstraint("name", name="uq_table_control_name"),
        schema=schema,
    )
    op.create_index("ix_table_control_source_name", "table_control", ["source_name"],
                    schema=schema)
    op.create_index("ix_table_control_status", "table_control", ["status"], schema=schema)

    op.create_table(
        "historical_metadata",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("table_id", sa.Integer, nullable=False),
        sa.Column("table_name", sa.String(200), nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("engine", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("started_at", _ts(), nullable=False),
        sa.Column("finished_at", _ts()),
        sa.Column("rows_read", sa.BigInteger, nullable=False),
        sa.Column("rows_written", sa.BigInteger, nullable=False),
        sa.Column("watermark_before", sa.JSON),
        sa.Column("watermark_after", sa.JSON),
        sa.Column("steps_committed", sa.Integer, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("error_class", sa.String(255)),
        sa.Column("error_message", sa.Text),
        sa.Column("orchestrator_run_id", sa.String(255)),
        sa.PrimaryKeyConstraint("run_id", name="pk_historical_metadata"),
        schema=schema,
    )
    op.create_index("ix_historical_metadata_table_id", "historical_metadata", ["table_id"],
                    schema=schema)
    op.create_index("ix_historical_metadata_table_name", "historical_metadata",
                    ["table_name"], schema=schema)
    op.create_index("ix_historical_metadata_started_at", "historical_metadata",
                    ["started_at"], schema=schema)

    op.create_table(
        "table_control_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("entity_kind", sa.String(16), nullable=False),
        sa.Column("entity_name", sa.String(200), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("at", _ts(), nullable=False),
        sa.Column("before", sa.JSON),
        sa.Column("after", sa.JSON),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_table_control_history"),
        schema=schema,
    )
    op.create_index("ix_table_control_history_entity_name", "table_control_history",
                    ["entity_name"], schema=schema)


def downgrade() -> None:
    """Drop the four control tables (and everything in them)."""
    schema = op.get_context().version_table_schema
    for name in ("table_control_history", "historical_metadata", "table_control",
                 "table_control_dbconfig"):
        op.drop_table(name, schema=schema)

"""The control database schema, in SQLAlchemy Core (no ORM).

These ``Table`` objects are what the store queries. They are *not* used to create the
database: the Alembic revisions in ``control/migrations/versions`` do that, and a test
checks the two agree. Tables carry no schema; on PostgreSQL the environment's schema
(``dataloader`` or ``dataloader_test``) is applied with ``schema_translate_map``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = [
    "NAMING_CONVENTION",
    "UTCDateTime",
    "historical_metadata",
    "metadata",
    "promotions",
    "table_control",
    "table_control_dbconfig",
    "table_control_history",
    "table_control_meta",
    "ui_users",
]


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    PostgreSQL keeps ``timestamptz`` natively. SQLite has no timestamp type and would hand
    back naive values, so UTC is stored naive (fixed-width text sorts like time) and the
    UTC zone is re-attached on read. Naive input is refused rather than guessed at.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Normalise to UTC; refuse naive datetimes (their zone would be a guess)."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"naive datetime {value.isoformat()} given to the control store; "
                "pass a timezone-aware value (e.g. datetime.now(timezone.utc))"
            )
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime whatever the backend gave."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def _json() -> sa.types.TypeEngine[Any]:
    # none_as_null: a Python None is SQL NULL, never the JSON literal 'null', so
    # "IS NULL" means "not set" on both backends.
    return sa.JSON(none_as_null=True)


# Deterministic constraint/index names, so the migrations can name them and a later
# revision can drop or alter them on every backend (SQLite needs names for batch mode).
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

table_control_dbconfig = sa.Table(
    "table_control_dbconfig",
    metadata,
    sa.Column("source_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("db_type", sa.String(64), nullable=False),
    sa.Column("host", sa.String(255)),
    sa.Column("port", sa.Integer),
    sa.Column("database", sa.String(255)),
    sa.Column("username", sa.String(255)),
    sa.Column("secret_ref", sa.String(1024)),
    sa.Column("options", _json(), nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

table_control = sa.Table(
    "table_control",
    metadata,
    sa.Column("table_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("source_name", sa.String(200), nullable=False, index=True),
    sa.Column("source_schema", sa.String(255)),
    sa.Column("source_table", sa.String(255)),
    sa.Column("source_query", sa.Text),
    sa.Column("target", sa.String(800), nullable=False),
    sa.Column("strategy", sa.String(64), nullable=False),
    sa.Column("strategy_options", _json(), nullable=False),
    sa.Column("interval_seconds", sa.Integer),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(32), nullable=False, index=True),
    sa.Column("state", _json(), nullable=False),
    sa.Column("retry_count", sa.Integer, nullable=False),
    sa.Column("lease_owner", sa.String(255)),
    sa.Column("lease_expires_at", UTCDateTime),
    sa.Column("run_generation", sa.Integer, nullable=False),
    sa.Column("next_run_at", UTCDateTime),
    sa.Column("last_run_at", UTCDateTime),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # Renewed when the table is added or reset: Delta commits of an earlier incarnation
    # are never rolled forward from (see control/migrations/versions/0002_identity.py).
    sa.Column("incarnation", sa.String(32), nullable=False),
    # --- orchestration (0003_orchestration): the queue token of the current enqueue and
    # its hand-out/launch, so a scheduler de-duplicating on run keys never swallows a
    # retry and a crashed tick loses nothing; the freshness SLA of the landing monitor.
    sa.Column("queue_token", sa.String(32)),
    sa.Column("queued_at", UTCDateTime),
    sa.Column("queue_generation", sa.Integer),
    sa.Column("handed_out_at", UTCDateTime),
    sa.Column("launched_at", UTCDateTime),
    sa.Column("freshness_sla_seconds", sa.Integer),
    # 0008_maintenance: the table's maintenance policy (settings that differ from the
    # defaults; NULL: defaults) and its bookkeeping (control/maintenance.py).
    sa.Column("maintenance", _json()),
    sa.Column("maintenance_state", _json()),
    # 0009_read_path: how the table is read (model/read.py; NULL: through its connector).
    sa.Column("read", _json()),
)

historical_metadata = sa.Table(
    "historical_metadata",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("table_id", sa.Integer, nullable=False, index=True),
    sa.Column("table_name", sa.String(200), nullable=False, index=True),
    sa.Column("strategy", sa.String(64), nullable=False),
    sa.Column("engine", sa.String(64), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False, index=True),
    sa.Column("finished_at", UTCDateTime, index=True),
    sa.Column("rows_read", sa.BigInteger, nullable=False),
    sa.Column("rows_written", sa.BigInteger, nullable=False),
    sa.Column("watermark_before", _json()),
    sa.Column("watermark_after", _json()),
    sa.Column("steps_committed", sa.Integer, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("error_class", sa.String(255)),
    sa.Column("error_message", sa.Text),
    sa.Column("orchestrator_run_id", sa.String(255)),
    sa.Column("delta_version", sa.BigInteger),
    # 0007: a table's last success without aggregating its whole history (dashboard).
    sa.Index("ix_historical_metadata_table_id_finished_at", "table_id", "finished_at"),
    # 0010: a claim closes the table's abandoned ``running`` rows without reading its
    # whole history.
    sa.Index("ix_historical_metadata_table_id_status", "table_id", "status"),
)

table_control_history = sa.Table(
    "table_control_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("entity_kind", sa.String(16), nullable=False),
    sa.Column("entity_name", sa.String(200), nullable=False, index=True),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("before", _json()),
    sa.Column("after", _json()),
    sa.Column("environment", sa.String(64), nullable=False),
    # 0004_audit_change_sets: the id shared by the rows of one bulk edit, promotion or apply.
    sa.Column("change_set", sa.String(32), index=True),
)

# Key/value facts about the control database itself; ``control_id`` is a UUID made when
# the database is created, carried by every Delta commit this control DB's runs write.
table_control_meta = sa.Table(
    "table_control_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(255), nullable=False),
)

# 0005_promotions: requests to promote dataloader_test configs into dataloader, written in
# the prod environment (control/promotion.py). ``items``: per table the diff, the watermark
# choice, the promoted config and the prod version at the request; ``replaced``: the prod
# rows the approval replaced, so a rollback can restore them.
promotions = sa.Table(
    "promotions",
    metadata,
    sa.Column("promotion_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("items", _json(), nullable=False),
    sa.Column("replaced", _json()),
    sa.Column("requested_by", sa.String(255), nullable=False),
    sa.Column("requested_at", UTCDateTime, nullable=False),
    sa.Column("approved_by", sa.String(255)),
    sa.Column("approved_at", UTCDateTime),
    sa.Column("rolled_back_by", sa.String(255)),
    sa.Column("rolled_back_at", UTCDateTime),
    sa.Column("change_set", sa.String(32)),
    sa.Column("note", sa.Text, nullable=False),
    # When the dataloader_test audit rows of the approval were written (see promotion.py
    # for why on SQLite this is a second transaction, repaired if it never happened).
    sa.Column("test_audited_at", UTCDateTime),
)

# 0007_ui_users: the web UI's sign-in users (dataloader_sdk.ui), kept in the prod
# (``dataloader``) environment; created in both so the two schemas stay identical.
# ``password_hash`` is werkzeug's salted scrypt hash, never the password.
ui_users = sa.Table(
    "ui_users",
    metadata,
    sa.Column("username", sa.String(255), primary_key=True),
    sa.Column("password_hash", sa.String(512), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False),
)

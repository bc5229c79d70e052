"""Run history (``historical_metadata``): one row per run, written by the runner."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from dataloader_sdk.control.rows import row_to_run, run_problems, run_values
from dataloader_sdk.control.run_statements import close_running_runs, with_where
from dataloader_sdk.control.schema import historical_metadata as HM
from dataloader_sdk.errors import ValidationError
from dataloader_sdk.model import RunRecord

__all__ = ["ABANDONED", "ABANDONED_MESSAGE", "CANCELLED", "cancel_open_runs",
           "close_abandoned_runs", "read_runs", "upsert_run", "upsert_runs"]

#: The error class of a run whose process died (or lost its control DB) before it
#: could record how it ended.
ABANDONED = "AbandonedRun"
#: The error class of a run stopped by the user (Ctrl-C, SIGTERM, ``tables unlock``).
CANCELLED = "LoadCancelledError"
#: The error message of an abandoned run.
ABANDONED_MESSAGE = (
    "the run ended without recording its outcome (its process was killed, or the control "
    "database failed at its end); a later run of the table picked up from the last Delta "
    "commit"
)


@functools.cache
def _upsert_statement(dialect: str) -> sa.Insert:
    """``INSERT … ON CONFLICT (run_id) DO UPDATE`` for the control DB's dialect, built
    once per process with bound parameters (SQLAlchemy then compiles it once)."""
    insert: Any
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the control DB is SQLite or PostgreSQL
        raise ValueError(f"no run upsert for control DB dialect {dialect!r}")
    statement = insert(HM)
    upsert: sa.Insert = statement.on_conflict_do_update(
        index_elements=[HM.c.run_id],
        set_={c.name: statement.excluded[c.name] for c in HM.columns if c.name != "run_id"},
    )
    return upsert


def upsert_run(conn: sa.Connection, run: RunRecord) -> None:
    """Insert ``run``, or update the row with the same ``run_id``.

    The runner records a run when it starts and again when it ends, so updating by
    ``run_id`` keeps exactly one row per run. One statement either way (it was an
    UPDATE, then an INSERT when nothing was updated: two at every run's start).

    Raises:
        ValidationError: A field of ``run`` is unusable; nothing is written.
    """
    problems = run_problems(run)
    if problems:
        raise ValidationError(f"run record {run.run_id!r} of table {run.table!r}", problems)
    conn.execute(_upsert_statement(conn.dialect.name), run_values(run))


def upsert_runs(conn: sa.Connection, runs: Sequence[RunRecord]) -> None:
    """:func:`upsert_run` for many runs, in one ``executemany``; all are checked first.

    Raises:
        ValidationError: A field of a run is unusable (the first such run); nothing is
            written.
    """
    for run in runs:
        problems = run_problems(run)
        if problems:
            raise ValidationError(f"run record {run.run_id!r} of table {run.table!r}",
                                  problems)
    if runs:
        conn.execute(_upsert_statement(conn.dialect.name), [run_values(run) for run in runs])


def close_abandoned_runs(conn: sa.Connection, table_id: int, *, now: datetime) -> int:
    """Mark the table's runs still recorded as ``running`` failed (abandoned).

    Called when a new claim takes the table's lease, or a monitor fails a stuck table:
    no run of the table can still be running then. Returns how many rows were closed.
    """
    result = conn.execute(close_running_runs(), with_where(
        {"status": "failed", "finished_at": now, "error_class": ABANDONED,
         "error_message": ABANDONED_MESSAGE}, table_id=table_id))
    return int(result.rowcount or 0)


def cancel_open_runs(conn: sa.Connection, table_id: int, *, now: datetime, message: str) -> int:
    """Mark the table's runs still recorded as ``running`` cancelled, with ``message``.

    Called by ``tables unlock``: the operator released the lease, so no run of the table
    can commit any more. Returns how many rows were closed.
    """
    result = conn.execute(close_running_runs(), with_where(
        {"status": "cancelled", "finished_at": now, "error_class": CANCELLED,
         "error_message": message}, table_id=table_id))
    return int(result.rowcount or 0)


def read_runs(conn: sa.Connection, table: str | None, limit: int) -> list[RunRecord]:
    """The newest ``limit`` runs, optionally of one table."""
    query = sa.select(HM).order_by(HM.c.started_at.desc(), HM.c.run_id.desc()).limit(limit)
    if table is not None:
        query = query.where(HM.c.table_name == table)
    return [row_to_run(row) for row in conn.execute(query)]

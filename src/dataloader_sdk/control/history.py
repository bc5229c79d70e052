"""Run history (``historical_metadata``): one row per run, written by the runner."""

from __future__ import annotations

import sqlalchemy as sa

from dataloader_sdk.control.rows import row_to_run, run_problems, run_values
from dataloader_sdk.control.schema import historical_metadata as HM
from dataloader_sdk.errors import ValidationError
from dataloader_sdk.model import RunRecord

__all__ = ["read_runs", "upsert_run"]


def upsert_run(conn: sa.Connection, run: RunRecord) -> None:
    """Insert ``run``, or update the row with the same ``run_id``.

    The runner records a run when it starts and again when it ends, so updating by
    ``run_id`` keeps exactly one row per run.

    Raises:
        ValidationError: A field of ``run`` is unusable; nothing is written.
    """
    problems = run_problems(run)
    if problems:
        raise ValidationError(f"run record {run.run_id!r} of table {run.table!r}", problems)
    values = run_values(run)
    updated = conn.execute(
        sa.update(HM).where(HM.c.run_id == run.run_id).values(
            {k: v for k, v in values.items() if k != "run_id"}
        )
    )
    if updated.rowcount == 0:
        conn.execute(sa.insert(HM).values(values))


def read_runs(conn: sa.Connection, table: str | None, limit: int) -> list[RunRecord]:
    """The newest ``limit`` runs, optionally of one table."""
    query = sa.select(HM).order_by(HM.c.started_at.desc(), HM.c.run_id.desc()).limit(limit)
    if table is not None:
        query = query.where(HM.c.table_name == table)
    return [row_to_run(row) for row in conn.execute(query)]

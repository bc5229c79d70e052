"""Recording a batch's unchanged runs, many in one transaction (see ``unchanged_sweep.py``).

A run that found nothing to commit changes only its table's schedule and its history, so a
batch records all of its unchanged runs in one transaction instead of a claim and a finish
each. The sweep that found them held no lease (unless the batch claimed its tables up front,
as ``load_due`` does), so each run is recorded only while its table is exactly as the sweep
read it: the same status (never ``running``), run generation, config version, incarnation
and state. A table a worker claimed, an operator edited or reset, or a monitor moved since
then is left out, and the batch runs it as usual. With a claim, the claim must still hold.

The table row ends as a claim followed by a finish would leave it: the status the run
ended in, the lease released, the retry count cleared, the next run scheduled, and (when
no claim was taken) the run generation bumped, as a claim bumps it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from dataloader_sdk.control.history import upsert_runs
from dataloader_sdk.control.records import Claim
from dataloader_sdk.control.rows import row_to_table
from dataloader_sdk.control.run_statements import rows_by_ids, update_row, with_where
from dataloader_sdk.control.schema import historical_metadata as HM
from dataloader_sdk.control.status import check_transition
from dataloader_sdk.errors import ConfigError, InvalidTransitionError
from dataloader_sdk.model import RunRecord, TableRecord, TableStatus

__all__ = ["UnchangedRun", "settle_unchanged", "settled_values"]


@dataclass(frozen=True)
class UnchangedRun:
    """A run that found nothing to commit, ready to be recorded.

    Attributes:
        table: The table as the sweep read it (for a claim: the claim's table).
        run: The finished history row (``succeeded`` or ``skipped``, nothing written).
        claim: The batch's claim on the table, when it claimed it before the sweep.
    """

    table: TableRecord
    run: RunRecord
    claim: Claim | None = None


def settle_unchanged(
    conn: sa.Connection, runs: Sequence[UnchangedRun], *, now: datetime
) -> list[UnchangedRun]:
    """Record each run whose table is still as read; returns the ones recorded.

    Safe to run again after a rollback or a lost answer: a table this very call already
    settled (its run's history row exists, its ``last_run_at`` is ``now`` and its
    generation the settled one) counts as recorded, and the history row is an upsert.
    """
    if not runs:
        return []
    ids = [item.table.table_id for item in runs]
    rows = {row.table_id: row for row in conn.execute(rows_by_ids(), {"where_table_ids": ids})}
    recorded = set(conn.scalars(sa.select(HM.c.run_id).where(
        HM.c.run_id.in_([item.run.run_id for item in runs]))))
    settled: list[UnchangedRun] = []
    updates: list[dict[str, object]] = []
    for item in runs:
        row = rows.get(item.table.table_id)
        if row is None:
            continue
        values = settled_values(row, item, now, recorded=item.run.run_id in recorded)
        if values is None:
            continue
        if values:
            updates.append(with_where(values, table_id=row.table_id))
        settled.append(item)
    # Two executemany statements (every update sets the same columns) instead of two
    # statements per table: the rows are locked (SQLite: one writer), so none can fail.
    if updates:
        conn.execute(update_row(), updates)
    upsert_runs(conn, [item.run for item in settled])
    return settled


def settled_values(
    row: Any, item: UnchangedRun, now: datetime, *, recorded: bool
) -> dict[str, object] | None:
    """The new values of ``item``'s table row (read locked, with the columns of
    ``table_control`` as attributes); ``{}`` when an earlier attempt of the same call
    settled it already (``recorded``: its history row exists); ``None`` to leave the
    table to a usual run. Shared with the in-memory store."""
    generation = item.claim.generation if item.claim is not None \
        else item.table.run_generation + 1
    if recorded and row.run_generation == generation and row.lease_owner is None \
            and row.last_run_at == now:
        return {}  # recorded by an earlier attempt of this call whose answer was lost
    if not _as_read(row, item):
        return None
    final: TableStatus = "succeeded" if item.run.status == "succeeded" else "skipped"
    # The way a claim goes to ``running`` (already there with a claim), then the end.
    path: list[TableStatus] = ([] if item.claim is not None
                               else ["running"] if row.status == "queued"
                               else ["queued", "running"])
    try:
        current: str = row.status
        for step in (*path, final):
            current = check_transition(row.name, current, step)
    except InvalidTransitionError:
        return None
    interval = row.interval_seconds
    return {
        "status": final, "lease_owner": None, "lease_expires_at": None,
        "last_run_at": now, "updated_at": now, "retry_count": 0,
        "next_run_at": now + timedelta(seconds=interval) if interval else None,
        "run_generation": generation,
    }


def _as_read(row: Any, item: UnchangedRun) -> bool:
    """Whether the row is still as the sweep read it (or still held by its claim)."""
    if item.claim is not None:
        claim = item.claim
        return bool(row.status == "running" and row.lease_owner == claim.owner
                    and row.run_generation == claim.generation)
    if row.status == "running":
        return False
    try:
        now_is = row_to_table(row)
    except ConfigError:
        return False  # an unreadable row: the usual run reports it
    was = item.table
    return (now_is.status == was.status and now_is.run_generation == was.run_generation
            and now_is.version == was.version and now_is.incarnation == was.incarnation
            and now_is.state == was.state)

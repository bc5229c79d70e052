"""The stuck-table monitors: fail tables stuck in ``queued`` or ``running`` (``stalled``).

A stuck table moves to ``failed`` exactly as :func:`~dataloader_sdk.control.scheduling.
set_status` would move it (lease released so the stuck worker can no longer save state
or finish, retry count up by one), and the failure is recorded where the retry analysis
reads it: the run history gets a failed row with the error class ``stalled`` (the stuck
run's own row when there is one), and the audit log a ``status`` row with the reason.

Set-based: candidates are read (and on PostgreSQL locked, ``SKIP LOCKED``) in one query,
changed in one ``UPDATE``, recorded in one multi-row ``INSERT`` per table.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa

from dataloader_sdk.control._common import check_now
from dataloader_sdk.control.findings import StuckTable
from dataloader_sdk.control.schema import historical_metadata as HM
from dataloader_sdk.control.schema import table_control as T
from dataloader_sdk.control.schema import table_control_history as H
from dataloader_sdk.control.status import check_transition
from dataloader_sdk.errors import ConfigError
from dataloader_sdk.model import JSONValue

__all__ = ["STALLED", "fail_long_queued", "fail_long_running", "write_audits"]

#: The error class recorded for a run a monitor found stuck (transient: retried).
STALLED = "stalled"


def write_audits(
    conn: sa.Connection, entries: Sequence[dict[str, Any]], *, actor: str, now: datetime,
    environment: str,
) -> None:
    """Append one ``status`` audit row per entry (``name``, ``before``, ``after``)."""
    if not entries:
        return
    conn.execute(sa.insert(H), [
        {"entity_kind": "table", "entity_name": e["name"], "action": "status",
         "actor": actor, "at": now, "before": e["before"], "after": e["after"],
         "environment": environment}
        for e in entries
    ])


def _fail(
    conn: sa.Connection,
    rows: Sequence[Any],
    *,
    was: Literal["queued", "running"],
    now: datetime,
    retry_delay_seconds: int,
    environment: str,
    actor: str,
    reasons: dict[int, str],
    since: dict[int, datetime],
) -> list[StuckTable]:
    if not rows:
        return []
    for row in rows:
        check_transition(row.name, row.status, "failed")
    ids = [row.table_id for row in rows]
    conn.execute(
        sa.update(T)
        .where(T.c.table_id.in_(ids), T.c.status == was)
        .values(status="failed", retry_count=T.c.retry_count + 1,
                next_run_at=now + timedelta(seconds=retry_delay_seconds),
                lease_owner=None, lease_expires_at=None, queue_token=None,
                handed_out_at=None, launched_at=None, updated_at=now)
    )
    # The stuck run's own history row (still 'running') becomes the failed one; a table
    # stuck in queued, or whose run died before recording itself, gets a new row.
    open_runs: dict[int, str] = {}
    if was == "running":
        for run in conn.execute(
            sa.select(HM.c.run_id, HM.c.table_id)
            .where(HM.c.table_id.in_(ids), HM.c.status == "running")
            .order_by(HM.c.started_at)
        ):
            open_runs[run.table_id] = run.run_id  # the newest wins
        if open_runs:
            conn.execute(
                sa.update(HM)
                .where(HM.c.run_id == sa.bindparam("b_run_id"))
                .values(status="failed", finished_at=now, error_class=STALLED,
                        error_message=sa.bindparam("b_message")),
                [{"b_run_id": run_id, "b_message": reasons[table_id]}
                 for table_id, run_id in open_runs.items()],
            )
    new_runs = {row.table_id: uuid.uuid4().hex for row in rows
                if row.table_id not in open_runs}
    if new_runs:
        conn.execute(sa.insert(HM), [
            {"run_id": new_runs[row.table_id], "table_id": row.table_id,
             "table_name": row.name, "strategy": row.strategy, "engine": "none",
             "status": "failed", "started_at": since[row.table_id], "finished_at": now,
             "rows_read": 0, "rows_written": 0, "watermark_before": None,
             "watermark_after": None, "steps_committed": 0,
             "note": f"found stuck in {was} by a monitor", "error_class": STALLED,
             "error_message": reasons[row.table_id], "orchestrator_run_id": None}
            for row in rows if row.table_id in new_runs
        ])
    audits: list[dict[str, Any]] = []
    for row in rows:
        before: dict[str, JSONValue] = {"status": row.status, "retry_count": row.retry_count,
                                        "lease_owner": row.lease_owner}
        after: dict[str, JSONValue] = {"status": "failed", "retry_count": row.retry_count + 1,
                                       "error_class": STALLED,
                                       "reason": reasons[row.table_id]}
        audits.append({"name": row.name, "before": before, "after": after})
    write_audits(conn, audits, actor=actor, now=now, environment=environment)
    return [
        StuckTable(
            name=row.name, was=was, since=since[row.table_id],
            stuck_for_seconds=(now - since[row.table_id]).total_seconds(),
            reason=reasons[row.table_id],
            lease_owner=row.lease_owner if was == "running" else None,
            run_id=open_runs.get(row.table_id) or new_runs.get(row.table_id),
        )
        for row in rows
    ]


def _columns() -> tuple[sa.ColumnElement[Any], ...]:
    return (T.c.table_id, T.c.name, T.c.status, T.c.strategy, T.c.retry_count,
            T.c.lease_owner, T.c.lease_expires_at, T.c.updated_at)


def fail_long_queued(
    conn: sa.Connection,
    *,
    now: datetime,
    older_than: timedelta,
    retry_delay_seconds: int,
    environment: str,
    limit: int | None = None,
) -> list[StuckTable]:
    """Fail tables in ``queued`` since longer than ``older_than`` (their launch was lost)."""
    check_now(now)
    if not isinstance(older_than, timedelta) or older_than <= timedelta(0):
        raise ConfigError(f"older_than must be a positive timedelta, got {older_than!r}")
    # updated_at is when the table entered queued: every status change sets it, and
    # neither the hand-out nor the launch stamp touches it.
    query = (
        sa.select(*_columns())
        .where(T.c.status == "queued", T.c.updated_at <= now - older_than)
        .order_by(T.c.updated_at, T.c.table_id)
        .with_for_update(skip_locked=True)
    )
    if limit is not None:
        query = query.limit(limit)
    rows = conn.execute(query).all()
    since = {r.table_id: r.updated_at for r in rows}
    reasons = {
        r.table_id: (
            f"queued since {r.updated_at.isoformat()} "
            f"({_ago(now - r.updated_at)}, longer than {_ago(older_than)}) and never "
            "started: its launch was lost; failed as stalled so the retry policy applies"
        )
        for r in rows
    }
    return _fail(conn, rows, was="queued", now=now, retry_delay_seconds=retry_delay_seconds,
                 environment=environment, actor="monitor:longqueued", reasons=reasons,
                 since=since)


def fail_long_running(
    conn: sa.Connection,
    *,
    now: datetime,
    grace: timedelta,
    retry_delay_seconds: int,
    environment: str,
    limit: int | None = None,
) -> list[StuckTable]:
    """Fail tables in ``running`` whose lease expired more than ``grace`` ago.

    A live run renews its lease from a heartbeat thread every third of the lease, so an
    expired lease means no heartbeat for a whole lease period: the worker died, hangs,
    or lost the control DB.
    """
    check_now(now)
    if not isinstance(grace, timedelta) or grace < timedelta(0):
        raise ConfigError(f"grace must be a non-negative timedelta, got {grace!r}")
    query = (
        sa.select(*_columns())
        .where(T.c.status == "running",
               sa.or_(T.c.lease_expires_at.is_(None), T.c.lease_expires_at <= now - grace))
        .order_by(T.c.lease_expires_at, T.c.table_id)
        .with_for_update(skip_locked=True)
    )
    if limit is not None:
        query = query.limit(limit)
    rows = conn.execute(query).all()
    since = {r.table_id: r.lease_expires_at or r.updated_at for r in rows}
    reasons = {
        r.table_id: (
            f"running under lease owner {r.lease_owner!r} whose lease expired at "
            f"{since[r.table_id].isoformat()} ({_ago(now - since[r.table_id])} ago): the "
            "run stopped renewing it (worker killed or hung); failed as stalled so the "
            "retry policy applies"
        )
        for r in rows
    }
    return _fail(conn, rows, was="running", now=now, retry_delay_seconds=retry_delay_seconds,
                 environment=environment, actor="monitor:longrunning", reasons=reasons,
                 since=since)


def _ago(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"

"""The retry analysis' reads and writes: failed tables, and applying the decisions.

What to decide is the adapter's (``dataloader_sdk.orchestration.retries``), passed in as
a function; this module locks the failed tables, hands them to it and writes the result
in the same transaction: requeue (status ``queued`` with a new queue token) or
``needs_attention``, each with an audit row and the reason appended to the failed run's
history note; a table that waits for its back-off gets ``next_run_at`` = the retry time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from dataloader_sdk.control._common import check_now
from dataloader_sdk.control.findings import FailedTable, RetryDecision
from dataloader_sdk.control.monitoring import write_audits
from dataloader_sdk.control.queue import new_token
from dataloader_sdk.control.schema import historical_metadata as HM
from dataloader_sdk.control.schema import table_control as T
from dataloader_sdk.control.status import check_transition
from dataloader_sdk.model import JSONValue

__all__ = ["Decide", "apply_retries", "failed_tables", "tables_in_status"]

Decide = Callable[[FailedTable], RetryDecision]


def _failed_rows(conn: sa.Connection, *, lock: bool, limit: int | None) -> list[Any]:
    """Failed tables joined with their newest run (one query, a window function)."""
    failed = sa.select(T.c.table_id).where(T.c.status == "failed")
    newest = (
        sa.select(
            HM.c.table_id, HM.c.run_id, HM.c.status.label("run_status"), HM.c.error_class,
            HM.c.error_message, HM.c.finished_at,
            sa.func.row_number().over(
                partition_by=HM.c.table_id,
                order_by=(HM.c.started_at.desc(), HM.c.run_id.desc()),
            ).label("rn"),
        )
        .where(HM.c.table_id.in_(failed.scalar_subquery()))
        .subquery()
    )
    picked = sa.select(T.c.table_id).where(T.c.status == "failed").order_by(T.c.table_id)
    if limit is not None:
        picked = picked.limit(limit)
    if lock:
        # Lock (and skip locked) the table rows only; the history is read, not changed.
        picked = picked.with_for_update(skip_locked=True)
    table_ids = [r.table_id for r in conn.execute(picked)]
    if not table_ids:
        return []
    query = (
        sa.select(T.c.table_id, T.c.name, T.c.retry_count, T.c.updated_at,
                  newest.c.run_id, newest.c.run_status, newest.c.error_class,
                  newest.c.error_message, newest.c.finished_at)
        .select_from(T.outerjoin(newest, sa.and_(newest.c.table_id == T.c.table_id,
                                                 newest.c.rn == 1)))
        .where(T.c.table_id.in_(table_ids))
        .order_by(T.c.name)
    )
    return list(conn.execute(query).all())


def _as_failed(row: Any) -> FailedTable:
    # The newest run explains the failure only if it failed; a table failed by hand
    # after a success has no recorded cause.
    ran = row.run_id is not None and row.run_status == "failed"
    return FailedTable(
        name=row.name,
        attempts=row.retry_count,
        error_class=row.error_class if ran else None,
        error_message=row.error_message if ran else None,
        failed_at=(row.finished_at if ran and row.finished_at is not None
                   else row.updated_at),
        run_id=row.run_id if ran else None,
    )


def failed_tables(conn: sa.Connection) -> list[FailedTable]:
    """Every table in ``failed`` with its attempts and last error, by name."""
    return [_as_failed(row) for row in _failed_rows(conn, lock=False, limit=None)]


def tables_in_status(conn: sa.Connection, status: str) -> list[str]:
    """Names of the tables in ``status``, sorted."""
    return list(conn.scalars(sa.select(T.c.name).where(T.c.status == status)
                             .order_by(T.c.name)))


def apply_retries(
    conn: sa.Connection,
    decide: Decide,
    *,
    now: datetime,
    environment: str,
    limit: int | None = None,
) -> list[RetryDecision]:
    """Decide for every failed table (locked) and apply the decisions."""
    check_now(now)
    rows = _failed_rows(conn, lock=True, limit=limit)
    decisions: list[RetryDecision] = []
    by_action: dict[str, list[tuple[Any, RetryDecision]]] = {
        "requeue": [], "needs_attention": [], "wait": []}
    for row in rows:
        decision = decide(_as_failed(row))
        if decision.action != "wait":
            to = "queued" if decision.action == "requeue" else "needs_attention"
            check_transition(row.name, "failed", to)
        by_action[decision.action].append((row, decision))
        decisions.append(decision)
    _requeue(conn, by_action["requeue"], now=now)
    attention = [row.table_id for row, _ in by_action["needs_attention"]]
    if attention:
        conn.execute(sa.update(T).where(T.c.table_id.in_(attention), T.c.status == "failed")
                     .values(status="needs_attention", next_run_at=None, updated_at=now))
    waiting = by_action["wait"]
    if waiting:
        # The store's own enqueue (``dataloader run --due``) then honours the back-off.
        conn.execute(
            sa.update(T).where(T.c.table_id == sa.bindparam("b_id"))
            .values(next_run_at=sa.bindparam("b_at")),
            [{"b_id": row.table_id, "b_at": d.retry_at} for row, d in waiting],
        )
    changed = by_action["requeue"] + by_action["needs_attention"]
    _record(conn, changed, now=now, environment=environment)
    tokens = _tokens(conn, [row.table_id for row, _ in by_action["requeue"]])
    return [
        _with_token(d, tokens.get(d.name)) if d.action == "requeue" else d
        for d in decisions
    ]


def _requeue(conn: sa.Connection, items: Sequence[tuple[Any, RetryDecision]], *,
             now: datetime) -> None:
    ids = [row.table_id for row, _ in items]
    if not ids:
        return
    conn.execute(
        sa.update(T).where(T.c.table_id.in_(ids), T.c.status == "failed")
        .values(status="queued", queue_token=new_token(conn), queued_at=now,
                queue_generation=T.c.run_generation, handed_out_at=None, launched_at=None,
                next_run_at=None, updated_at=now)
    )


def _record(conn: sa.Connection, items: Sequence[tuple[Any, RetryDecision]], *,
            now: datetime, environment: str) -> None:
    if not items:
        return
    audits: list[dict[str, Any]] = []
    for row, d in items:
        before: dict[str, JSONValue] = {"status": "failed", "retry_count": row.retry_count}
        after: dict[str, JSONValue] = {
            "status": "queued" if d.action == "requeue" else "needs_attention",
            "retry_count": row.retry_count, "reason": d.reason,
            "error_class": d.error_class, "transient": d.transient,
        }
        audits.append({"name": row.name, "before": before, "after": after})
    write_audits(conn, audits, actor="retry-analysis", now=now, environment=environment)
    notes = [{"b_run_id": row.run_id, "b_note": f"; retry analysis: {d.reason}"}
             for row, d in items if row.run_id is not None and row.run_status == "failed"]
    if notes:
        conn.execute(
            sa.update(HM).where(HM.c.run_id == sa.bindparam("b_run_id"))
            .values(note=HM.c.note + sa.bindparam("b_note")),
            notes,
        )


def _tokens(conn: sa.Connection, ids: list[int]) -> dict[str, str]:
    if not ids:
        return {}
    return {r.name: r.queue_token for r in conn.execute(
        sa.select(T.c.name, T.c.queue_token).where(T.c.table_id.in_(ids)))}


def _with_token(decision: RetryDecision, token: str | None) -> RetryDecision:
    return replace(decision, queue_token=token)

"""Read-only queries behind the UI dashboard (nothing here changes a row).

Counts by status, recent failures, tables stuck in ``queued`` / ``running`` (reported,
not failed: failing them is the monitors' job, ``orchestration.find_long_*``), and the
run history bucketed per hour for the charts. Each is one set-based query, so the
dashboard stays fast with 10,000 tables and a million runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from dataloader_sdk.control.findings import Freshness
from dataloader_sdk.control.schema import UTCDateTime
from dataloader_sdk.control.schema import historical_metadata as HM
from dataloader_sdk.control.schema import table_control as T

__all__ = ["RecentFailure", "RunBucket", "StuckRow", "late_tables", "recent_failures",
           "run_buckets", "stuck_tables", "tables_in_status"]


@dataclass(frozen=True)
class RecentFailure:
    """A failed run: which table, when, and the error class and (redacted) message."""

    table: str
    run_id: str
    started_at: datetime
    error_class: str | None
    error_message: str | None


@dataclass(frozen=True)
class StuckRow:
    """A table in ``queued`` or ``running`` for longer than the dashboard's threshold."""

    name: str
    status: str
    since: datetime


@dataclass(frozen=True)
class RunBucket:
    """Runs started in one hour: how many, rows written, mean duration (finished ones)."""

    hour: datetime
    runs: int
    failed: int
    rows_written: int
    mean_seconds: float | None


def tables_in_status(conn: sa.Connection, status: str, limit: int) -> list[str]:
    """Up to ``limit`` names of tables in ``status``, sorted."""
    return list(conn.scalars(sa.select(T.c.name).where(T.c.status == status)
                             .order_by(T.c.name).limit(limit)))


def recent_failures(conn: sa.Connection, limit: int) -> list[RecentFailure]:
    """The newest failed runs, newest first."""
    rows = conn.execute(
        sa.select(HM.c.table_name, HM.c.run_id, HM.c.started_at, HM.c.error_class,
                  HM.c.error_message)
        .where(HM.c.status == "failed").order_by(HM.c.started_at.desc()).limit(limit))
    return [RecentFailure(table=r.table_name, run_id=r.run_id, started_at=r.started_at,
                          error_class=r.error_class, error_message=r.error_message)
            for r in rows]


def stuck_tables(conn: sa.Connection, *, now: datetime, queued_for: timedelta,
                 running_for: timedelta, limit: int) -> list[StuckRow]:
    """Tables queued longer than ``queued_for`` or running longer than ``running_for``.

    A running table's start is its open run's start (the run row has no end yet).
    """
    # updated_at is when a queued table entered ``queued`` (as the long-queued monitor
    # reads it): every status change sets it; the hand-out and launch stamps do not.
    queued = conn.execute(
        sa.select(T.c.name, T.c.updated_at)
        .where(T.c.status == "queued", T.c.updated_at < now - queued_for)
        .order_by(T.c.updated_at).limit(limit))
    out = [StuckRow(r.name, "queued", r.updated_at) for r in queued]
    started = sa.func.min(HM.c.started_at)
    running = conn.execute(
        sa.select(T.c.name, started.label("since"))
        .select_from(T.join(HM, HM.c.table_id == T.c.table_id))
        .where(T.c.status == "running", HM.c.finished_at.is_(None))
        .group_by(T.c.name).having(started < now - running_for)
        .order_by(started).limit(limit))
    out.extend(StuckRow(r.name, "running", r.since) for r in running)
    return out


def run_buckets(conn: sa.Connection, *, now: datetime, hours: int) -> list[RunBucket]:
    """Runs started in the last ``hours`` hours, per hour (oldest first)."""
    since = now - timedelta(hours=hours)
    if conn.dialect.name == "postgresql":
        hour: sa.ColumnElement[Any] = sa.func.date_trunc("hour", HM.c.started_at)
        seconds: sa.ColumnElement[Any] = sa.func.extract(
            "epoch", HM.c.finished_at - HM.c.started_at)
    else:  # SQLite keeps UTC as naive ISO text: the first 13 characters are the hour.
        hour = sa.func.substr(sa.cast(HM.c.started_at, sa.String), 1, 13)
        seconds = (sa.func.julianday(HM.c.finished_at)
                   - sa.func.julianday(HM.c.started_at)) * 86400.0
    failed = sa.func.sum(sa.case((HM.c.status == "failed", 1), else_=0))
    rows = conn.execute(
        sa.select(hour.label("hour"), sa.func.count().label("runs"), failed.label("failed"),
                  sa.func.coalesce(sa.func.sum(HM.c.rows_written), 0).label("rows"),
                  sa.func.avg(seconds).label("mean"))
        .where(HM.c.started_at >= since).group_by(hour).order_by(hour))
    out: list[RunBucket] = []
    for r in rows:
        at = r.hour
        if isinstance(at, str):
            at = datetime.strptime(at, "%Y-%m-%d %H").replace(tzinfo=timezone.utc)
        elif isinstance(at, datetime) and at.tzinfo is None:
            at = at.replace(tzinfo=timezone.utc)
        out.append(RunBucket(hour=at, runs=int(r.runs), failed=int(r.failed or 0),
                             rows_written=int(r.rows),
                             mean_seconds=None if r.mean is None else float(r.mean)))
    return out


def late_tables(conn: sa.Connection, *, now: datetime, sla_multiple: int = 3,
                limit: int = 50) -> list[Freshness]:
    """Enabled scheduled tables past their freshness SLA, latest first, from the control
    DB alone (``orchestration.check_landing_tables`` also asks the engine).

    The landing query of the monitors aggregates the whole run history; this one reads
    ``table_control`` and looks up the last success only of the tables that can be late:
    no run within the SLA, failures since the last success (``retry_count``), or a
    failed, cancelled or ``needs_attention`` status. Any other table's last run, within
    the SLA, was a success.
    """
    sla = sa.func.coalesce(T.c.freshness_sla_seconds, T.c.interval_seconds * sla_multiple)
    if conn.dialect.name == "postgresql":
        ran_within_sla = T.c.last_run_at >= sa.literal(now, UTCDateTime) \
            - sa.func.make_interval(0, 0, 0, 0, 0, 0, sla)
    else:  # SQLite: julianday() of the stored naive-UTC text, in days
        naive = now.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
        ran_within_sla = (sa.func.julianday(naive) - sa.func.julianday(T.c.last_run_at)) \
            * 86400.0 <= sla
    # Each candidate's newest success: a backward walk of the (table_id, finished_at)
    # index that stops at the first success, rather than aggregating the history.
    last_success = (
        sa.select(HM.c.finished_at)
        .where(HM.c.table_id == T.c.table_id, HM.c.finished_at.is_not(None),
               HM.c.status.in_(("succeeded", "skipped")))
        .order_by(HM.c.finished_at.desc()).limit(1)
        .scalar_subquery())
    rows = conn.execute(
        sa.select(T.c.table_id, T.c.name, T.c.target, T.c.created_at, sla.label("sla"),
                  last_success.label("last_success"))
        .where(T.c.enabled.is_(True), sla.is_not(None),
               sa.or_(T.c.last_run_at.is_(None), T.c.retry_count > 0,
                      T.c.status.in_(("failed", "cancelled", "needs_attention")),
                      sa.not_(ran_within_sla))))
    out: list[Freshness] = []
    for r in rows:
        success = r.last_success
        if success is not None and success.tzinfo is None:  # SQLite gives naive UTC text
            success = success.replace(tzinfo=timezone.utc)
        if success is None:
            late = (now - (r.created_at + timedelta(seconds=r.sla))).total_seconds()
            if late > 0:
                out.append(Freshness(r.name, r.target, r.sla, None, None, None, "missing", late))
            continue
        age = (now - success).total_seconds()
        if age > r.sla:
            out.append(Freshness(r.name, r.target, r.sla, success, None, age, "stale",
                                 age - r.sla))
    out.sort(key=lambda f: (-f.late_seconds, f.name))
    return out[:limit]

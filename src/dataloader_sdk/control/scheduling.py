"""Scheduling, claims, leases and status changes of tables.

Every status change goes through :func:`dataloader_sdk.control.status.check_transition`.
Every write that depends on what was read carries the value it depends on in its WHERE
clause (status, lease owner, run generation), so a change made concurrently by another
worker turns into a refused write instead of a lost update. On PostgreSQL rows are also
locked (``FOR UPDATE``, ``SKIP LOCKED`` when picking due work); on SQLite every
transaction is a single writer (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, Literal

import sqlalchemy as sa

from dataloader_sdk.control._common import check_actor, check_now
from dataloader_sdk.control.audit import write_audit
from dataloader_sdk.control.history import close_abandoned_runs
from dataloader_sdk.control.owners import owner_is_gone
from dataloader_sdk.control.records import Claim
from dataloader_sdk.control.rows import row_to_table
from dataloader_sdk.control.run_statements import (
    row_by_id,
    update_held,
    update_leased,
    update_row,
    with_where,
)
from dataloader_sdk.control.schema import table_control as T
from dataloader_sdk.control.status import check_transition
from dataloader_sdk.control.tables import table_row
from dataloader_sdk.errors import ConfigError, LeaseError
from dataloader_sdk.model import JSONValue, TableRecord, TableState, TableStatus

__all__ = ["RetryPolicy", "check_positive", "claim", "claim_due", "enqueue_due", "finish",
           "lease_error", "lease_held", "save_state", "set_status"]

FinishStatus = Literal["succeeded", "failed", "skipped", "cancelled"]


@dataclass(frozen=True)
class RetryPolicy:
    """How failures are retried.

    A table is re-queued after a failure while ``retry_count <= max_retries`` (so
    ``max_retries=3`` allows 1 run + 3 retries); the next failure, or a permanent one,
    moves it to ``needs_attention``. A retry is due ``delay_seconds`` after the failure.
    """

    max_retries: int = 3
    delay_seconds: int = 60

    def __post_init__(self) -> None:
        for name in ("max_retries", "delay_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{name} must be a non-negative integer, got {value!r}")


def check_positive(value: object, name: str) -> int:
    """``value`` if it is a positive integer, else :class:`ConfigError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return value


def lease_held(row: Any, now: datetime) -> bool:
    """Whether the table row is running under a lease that has not expired at ``now``."""
    return (
        row.status == "running"
        and row.lease_expires_at is not None
        and row.lease_expires_at > now
    )


def lease_error(name: str, row: Any, what: str) -> LeaseError:
    """The error for a claim that no longer holds, naming the table's current holder."""
    if row is None:
        return LeaseError(f"{what} table {name!r}: the table no longer exists")
    if row.status == "running":
        holder = f"it is leased by {row.lease_owner!r} until {row.lease_expires_at}"
    else:
        holder = f"it is now {row.status!r} with no lease"
    return LeaseError(f"{what} table {name!r}: {holder}; wait for that run or claim it again")


def enqueue_due(conn: sa.Connection, *, now: datetime, retry: RetryPolicy) -> list[str]:
    """Move every due table to ``queued``; returns their names (by priority).

    Due: enabled; ``next_run_at <= now`` (or never scheduled but with an interval); and
    idle, succeeded, skipped or cancelled, or failed with retries left.
    """
    check_now(now)
    settled = T.c.status.in_(("idle", "succeeded", "skipped", "cancelled"))
    retryable = sa.and_(T.c.status == "failed", T.c.retry_count <= retry.max_retries)
    query = (
        sa.select(T.c.table_id, T.c.name, T.c.status)
        .where(
            T.c.enabled.is_(True),
            sa.or_(settled, retryable),
            sa.or_(
                T.c.next_run_at <= now,
                sa.and_(T.c.next_run_at.is_(None), T.c.interval_seconds.is_not(None)),
            ),
        )
        .order_by(T.c.priority, T.c.table_id)
        # Another scheduler enqueueing at the same moment simply skips these rows.
        .with_for_update(skip_locked=True)
    )
    queued: list[str] = []
    for row in conn.execute(query).all():
        check_transition(row.name, row.status, "queued")
        result = conn.execute(
            sa.update(T).where(T.c.table_id == row.table_id, T.c.status == row.status)
            .values(status="queued", updated_at=now)
        )
        if result.rowcount == 1:
            queued.append(row.name)
    return queued


def _take_lease(
    conn: sa.Connection, row: Any, *, owner: str, lease_seconds: int, now: datetime
) -> Claim:
    generation = row.run_generation + 1
    expires = now + timedelta(seconds=lease_seconds)
    changes = {"status": "running", "lease_owner": owner, "lease_expires_at": expires,
               "run_generation": generation, "updated_at": now}
    result = conn.execute(update_held(), with_where(
        changes, table_id=row.table_id, status=row.status, generation=row.run_generation))
    if result.rowcount != 1:
        raise lease_error(row.name, table_row(conn, row.name), "cannot claim")
    # Only one run of a table holds its lease, so a history row of the table still
    # 'running' belongs to a run that died (killed, or the control DB failed at its end).
    close_abandoned_runs(conn, row.table_id, now=now)
    # The row as just updated, without reading it again (a third of a claim's time).
    leased = SimpleNamespace(**{**row._mapping, **changes})
    return Claim(table=row_to_table(leased), owner=owner, generation=generation,
                 expires_at=expires)


def claim(
    conn: sa.Connection, name: str, *, owner: str, lease_seconds: int, now: datetime
) -> Claim:
    """Claim one table for a run now, whatever its schedule (a manual run).

    Any status but ``running`` goes ``→ queued → running``; a ``running`` table whose
    lease expired, or whose lease owner was a process on this host that no longer exists
    (``control/owners.py``), is taken over (``running → failed → queued → running``).

    Raises:
        LeaseError: Another worker holds an unexpired lease; names it and the expiry.
        InvalidTransitionError: The state machine forbids the path.
    """
    check_now(now)
    check_actor(owner)
    check_positive(lease_seconds, "lease_seconds")
    row = table_row(conn, name, lock=True)
    if lease_held(row, now) and row.lease_owner == owner:
        # Our own lease: an earlier attempt of this very claim committed but its answer
        # was lost (the store retries such calls), or this worker's previous run of the
        # table died without releasing it. Either way the lease is ours to use.
        return Claim(table=row_to_table(row), owner=owner, generation=row.run_generation,
                     expires_at=row.lease_expires_at)
    if lease_held(row, now) and not owner_is_gone(row.lease_owner):
        raise LeaseError(
            f"table {name!r} is already running: leased by {row.lease_owner!r} until "
            f"{row.lease_expires_at.isoformat()}; wait for that run to finish (or for the "
            "lease to expire) and claim it again. If that process is gone, release the "
            f"lease with `dataloader tables unlock {name}`"
        )
    path: list[TableStatus]
    if row.status == "running":
        path = ["failed", "queued", "running"]
    elif row.status == "queued":
        path = ["running"]
    else:
        path = ["queued", "running"]
    current: str = row.status
    for step in path:
        current = check_transition(name, current, step)
    return _take_lease(conn, row, owner=owner, lease_seconds=lease_seconds, now=now)


def claim_due(
    conn: sa.Connection,
    *,
    owner: str,
    limit: int,
    lease_seconds: int,
    now: datetime,
    environment: str = "dataloader",
) -> list[Claim]:
    """Claim up to ``limit`` queued, enabled tables, highest priority (lowest number) first.

    Rows another worker is claiming at the same moment are skipped, never waited for
    (PostgreSQL ``SKIP LOCKED``); on SQLite the transaction is the only writer.
    """
    check_now(now)
    check_actor(owner)
    check_positive(limit, "limit")
    check_positive(lease_seconds, "lease_seconds")
    query = (
        sa.select(T)
        .where(T.c.status == "queued", T.c.enabled.is_(True))
        # Longest waiting first within a priority (updated_at is when it was queued):
        # by id alone, tables with high ids starved whenever demand exceeded capacity.
        .order_by(T.c.priority, T.c.updated_at, T.c.table_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claims: list[Claim] = []
    for row in conn.execute(query).all():
        check_transition(row.name, row.status, "running")
        try:
            row_to_table(row)
        except ConfigError as exc:
            # One hand-edited row must not stop every other table: park it, with the reason.
            _park_broken(conn, row, str(exc), now=now, environment=environment)
            continue
        claims.append(_take_lease(conn, row, owner=owner, lease_seconds=lease_seconds, now=now))
    return claims


def _park_broken(
    conn: sa.Connection, row: Any, problem: str, *, now: datetime, environment: str
) -> None:
    """Move a queued table whose row cannot be read to ``needs_attention`` (audited)."""
    final = check_transition(row.name, check_transition(row.name, row.status, "failed"),
                             "needs_attention")
    conn.execute(sa.update(T).where(T.c.table_id == row.table_id, T.c.status == row.status)
                 .values(status=final, next_run_at=None, updated_at=now))
    write_audit(conn, kind="table", entity=row.name, action="status", actor="dataloader",
                at=now, before={"status": row.status},
                after={"status": final, "reason": problem}, environment=environment)


def _locked_row(conn: sa.Connection, held: Claim) -> Any:
    return conn.execute(row_by_id(), {"where_table_id": held.table.table_id}).one_or_none()


def _check_held(row: Any, held: Claim, what: str) -> None:
    if (
        row is None
        or row.status != "running"
        or row.lease_owner != held.owner
        or row.run_generation != held.generation
    ):
        raise lease_error(held.table.name, row, what)


def _held_row(conn: sa.Connection, held: Claim, what: str) -> Any:
    row = _locked_row(conn, held)
    _check_held(row, held, what)
    return row


def save_state(conn: sa.Connection, held: Claim, state: TableState) -> None:
    """Store ``state`` for the claimed table, only while the claim still holds.

    An expired lease that nobody took over still holds: the data it describes is
    already committed, and refusing it would only lose progress.

    Raises:
        LeaseError: The lease was taken over or released; names the current holder.
    """
    row = _held_row(conn, held, "cannot save state of")
    conn.execute(update_leased(), with_where(
        {"state": state.to_json()}, table_id=row.table_id, owner=held.owner,
        generation=held.generation))


def renew(conn: sa.Connection, held: Claim, *, now: datetime, lease_seconds: int) -> Claim:
    """Extend a held lease to ``now + lease_seconds`` (a long run's heartbeat).

    Raises:
        LeaseError: The lease was taken over or released; names the current holder.
    """
    check_now(now)
    row = _held_row(conn, held, "cannot renew the lease of")
    expires = now + timedelta(seconds=lease_seconds)
    conn.execute(update_leased(), with_where(
        {"lease_expires_at": expires}, table_id=row.table_id, owner=held.owner,
        generation=held.generation))
    return Claim(table=held.table, owner=held.owner, generation=held.generation,
                 expires_at=expires)


def finish(
    conn: sa.Connection,
    held: Claim,
    *,
    status: FinishStatus,
    now: datetime,
    permanent: bool,
    retry: RetryPolicy,
) -> TableRecord:
    """End a claimed run: set its outcome, release the lease, schedule the next run."""
    check_now(now)
    row = _locked_row(conn, held)
    if (row is not None and row.run_generation == held.generation
            and row.lease_owner is None and row.last_run_at == now):
        # This claim was finished already, at this very ``now``: an earlier attempt
        # committed but its answer was lost (the store retries such calls). Finishing
        # twice would count a failure twice. (A monitor's release sets no last_run_at.)
        return row_to_table(row)
    _check_held(row, held, "cannot finish")
    name = row.name
    final = check_transition(name, row.status, status)
    values: dict[str, object] = {
        "lease_owner": None,
        "lease_expires_at": None,
        "last_run_at": now,
        "updated_at": now,
    }
    if final == "failed":
        retries = row.retry_count + 1
        values["retry_count"] = retries
        if permanent or retries > retry.max_retries:
            final = check_transition(name, final, "needs_attention")
            values["next_run_at"] = None
        else:
            values["next_run_at"] = now + timedelta(seconds=retry.delay_seconds)
    elif final == "cancelled":
        # Stopped by the user, nothing committed: neither a failure (no retry counted) nor
        # a completed run, so the schedule stays as it was (a due table is still due).
        pass
    else:
        values["retry_count"] = 0
        interval = row.interval_seconds
        values["next_run_at"] = now + timedelta(seconds=interval) if interval else None
    values["status"] = final
    conn.execute(update_row(), with_where(values, table_id=row.table_id))
    # The row as just updated, without reading it again (one read per finish, not three).
    return row_to_table(SimpleNamespace(**{**row._mapping, **values}))


def set_status(
    conn: sa.Connection,
    name: str,
    to: TableStatus,
    *,
    actor: str,
    reason: str,
    now: datetime,
    retry: RetryPolicy,
    environment: str,
) -> TableRecord:
    """A manual or monitor status change, checked by the state machine and audited.

    ``→ failed`` (a stuck table) releases the lease, so the stuck worker can no longer
    save state or finish, and counts as a failure for the retry policy;
    ``needs_attention → idle/queued`` starts the retry count over.
    """
    check_now(now)
    check_actor(actor)
    if not isinstance(reason, str) or not reason.strip():
        raise ConfigError(f"give a reason for changing the status of table {name!r}")
    row = table_row(conn, name, lock=True)
    final = check_transition(name, row.status, to)
    values: dict[str, object] = {"status": final, "updated_at": now}
    if row.status == "running":
        values.update(lease_owner=None, lease_expires_at=None)
        close_abandoned_runs(conn, row.table_id, now=now)
    if final == "failed":
        values["retry_count"] = row.retry_count + 1
        values["next_run_at"] = now + timedelta(seconds=retry.delay_seconds)
    elif final == "needs_attention":
        values["next_run_at"] = None
    elif row.status == "needs_attention":
        values["retry_count"] = 0
    result = conn.execute(
        sa.update(T).where(T.c.table_id == row.table_id, T.c.status == row.status).values(values)
    )
    if result.rowcount != 1:  # pragma: no cover - the row is locked (or SQLite is serial)
        raise lease_error(name, table_row(conn, name), "cannot change the status of")
    before: dict[str, JSONValue] = {"status": row.status, "retry_count": row.retry_count}
    after = row_to_table(table_row(conn, name))
    after_json: dict[str, JSONValue] = {
        "status": after.status, "retry_count": after.retry_count, "reason": reason,
    }
    write_audit(conn, kind="table", entity=name, action="status", actor=actor, at=now,
                before=before, after=after_json, environment=environment)
    return after

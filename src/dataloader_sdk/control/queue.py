"""The orchestration queue: enqueue due tables with a queue token, hand them out, claim.

A table's *queue token* is a random id made in SQL every time the adapter enqueues it.
It is *fresh* while the table is still in that enqueue: status ``queued``, the run
generation unchanged since (no claim) and no status change since (``queued_at`` not
older than ``updated_at``). A table queued by another path (``set_status``, the store's
own ``enqueue_due``) holds no fresh token; :func:`enqueue_due` gives it one.

Hand-out: each call of :func:`enqueue_due` takes the queued, not yet launched tables
whose previous hand-out (if any) is older than ``handout_seconds`` and stamps them, so
two ticks running at once never receive the same table; a tick that crashed before
launching is re-emitted (with the same token, so the same run key) once its hand-out
expires. :func:`mark_launched` ends the hand-outs of an enqueue.

Every statement is set-based: a tick is a handful of round trips whatever the number
of tables. On PostgreSQL the rows being handed out are locked ``FOR UPDATE SKIP
LOCKED``; on SQLite each transaction is the only writer.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from dataloader_sdk.control._common import check_actor, check_now
from dataloader_sdk.control.findings import QueuedTable
from dataloader_sdk.control.records import Claim
from dataloader_sdk.control.scheduling import claim as claim_table
from dataloader_sdk.control.schema import table_control as T
from dataloader_sdk.control.status import check_transition
from dataloader_sdk.control.tables import table_row
from dataloader_sdk.errors import ConfigError, StaleQueueTokenError

__all__ = [
    "SETTLED",
    "claim_queued",
    "enqueue_due",
    "fresh_token",
    "mark_launched",
    "new_token",
    "token_is_fresh",
]

#: Statuses a due table is enqueued from (a failed table waits for the retry analysis).
SETTLED: tuple[str, ...] = ("idle", "succeeded", "skipped", "cancelled")


def new_token(conn: sa.Connection) -> sa.ColumnElement[Any]:
    """A SQL expression making a new random 32-hex-digit token for each row it touches."""
    if conn.dialect.name == "postgresql":
        return sa.func.replace(sa.cast(sa.func.gen_random_uuid(), sa.Text), "-", "")
    if conn.dialect.name == "sqlite":
        return sa.func.lower(sa.func.hex(sa.func.randomblob(16)))
    raise ConfigError(  # pragma: no cover - the control DB is SQLite or PostgreSQL
        f"the control database dialect {conn.dialect.name!r} cannot make queue tokens; "
        "use SQLite or PostgreSQL"
    )


def fresh_token() -> sa.ColumnElement[bool]:
    """SQL: the row is ``queued`` and its queue token belongs to this enqueue."""
    return sa.and_(
        T.c.status == "queued",
        T.c.queue_token.is_not(None),
        T.c.queue_generation == T.c.run_generation,
        T.c.queued_at >= T.c.updated_at,
    )


def token_is_fresh(row: Any) -> bool:
    """:func:`fresh_token` for a row already read."""
    return bool(
        row.status == "queued"
        and row.queue_token is not None
        and row.queue_generation == row.run_generation
        and row.queued_at is not None
        and row.queued_at >= row.updated_at
    )


def _among(conn: sa.Connection, ids: sa.Select[Any]) -> sa.ColumnElement[bool]:
    """SQL: ``table_id`` is one of the ids ``ids`` selects (and locks).

    PostgreSQL gets ``= ANY(ARRAY(subquery))``: the locking subquery runs once, first,
    and each id is found through the primary key. A plain ``IN (subquery)`` is planned
    from statistics that cannot know how many rows this very transaction just queued,
    and a misestimate turns it into a nested loop over every row (minutes for 10,000
    tables). SQLite materialises ``IN (subquery)`` once by itself.
    """
    if conn.dialect.name == "postgresql":
        return T.c.table_id == sa.any_(sa.func.array(ids.scalar_subquery()))
    return T.c.table_id.in_(ids.scalar_subquery())


def _bounded(query: sa.Select[Any], limit: int | None) -> sa.Select[Any]:
    return query if limit is None else query.limit(limit)


def enqueue_due(
    conn: sa.Connection, *, now: datetime, limit: int | None, handout_seconds: int
) -> list[QueuedTable]:
    """Enqueue due tables, give queued tables without a fresh token one, hand out.

    See the module docstring; ordering is priority (lowest first), then enqueue time.
    """
    check_now(now)
    for field, value in (("limit", limit), ("handout_seconds", handout_seconds)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value <= 0):
            raise ConfigError(f"{field} must be a positive integer, got {value!r}")
    for status in SETTLED:  # the set-based update below skips the per-row check
        check_transition("(any)", status, "queued")
    token = new_token(conn)
    due = _bounded(
        sa.select(T.c.table_id)
        .where(
            T.c.enabled.is_(True),
            T.c.status.in_(SETTLED),
            sa.or_(
                T.c.next_run_at <= now,
                sa.and_(T.c.next_run_at.is_(None), T.c.interval_seconds.is_not(None)),
            ),
        )
        .order_by(T.c.priority, T.c.table_id),
        limit,
    ).with_for_update(skip_locked=True)
    conn.execute(
        sa.update(T)
        .where(_among(conn, due), T.c.status.in_(SETTLED))
        .values(status="queued", queue_token=token, queued_at=now,
                queue_generation=T.c.run_generation, handed_out_at=None, launched_at=None,
                updated_at=now)
    )
    # Queued by another path since the last token: a new token (the old one may be a
    # run key a scheduler already used). queued_at keeps when it was really queued.
    conn.execute(
        sa.update(T)
        .where(T.c.status == "queued", sa.or_(
            T.c.queue_token.is_(None),
            T.c.queue_generation.is_(None),
            T.c.queued_at.is_(None),
            T.c.queue_generation != T.c.run_generation,
            T.c.queued_at < T.c.updated_at,
        ))
        .values(queue_token=token, queued_at=T.c.updated_at,
                queue_generation=T.c.run_generation, handed_out_at=None, launched_at=None)
    )
    cutoff = now - timedelta(seconds=handout_seconds)
    waiting = sa.and_(
        fresh_token(),
        T.c.enabled.is_(True),
        T.c.launched_at.is_(None),
        sa.or_(T.c.handed_out_at.is_(None), T.c.handed_out_at <= cutoff),
    )
    pick = _bounded(
        sa.select(T.c.table_id).where(waiting)
        .order_by(T.c.priority, T.c.queued_at, T.c.table_id),
        limit,
    ).with_for_update(skip_locked=True)
    rows = list(conn.execute(
        sa.update(T)
        .where(_among(conn, pick), waiting)
        .values(handed_out_at=now)
        .returning(T.c.table_id, T.c.name, T.c.source_name, T.c.priority, T.c.target,
                   T.c.queue_token, T.c.queued_at)
    ).all())
    rows.sort(key=lambda r: (r.priority, r.queued_at, r.table_id))
    return [
        QueuedTable(
            name=r.name,
            source=r.source_name,
            priority=r.priority,
            # Split, not parsed: one hand-edited target must not break every tick.
            target_parts=tuple(str(r.target).split(".")),
            queue_token=r.queue_token,
            queued_at=r.queued_at,
        )
        for r in rows
    ]


def mark_launched(conn: sa.Connection, tokens: Mapping[str, str], *, now: datetime) -> int:
    """Stamp ``launched_at`` on each table whose fresh token is the one given.

    Returns how many tables were stamped (a stale token stamps nothing).
    """
    check_now(now)
    if not tokens:
        return 0
    for name, token in tokens.items():
        if not isinstance(name, str) or not isinstance(token, str) or not token:
            raise ConfigError(f"mark_launched needs table names and queue tokens, got "
                              f"{name!r}: {token!r}")
    result = conn.execute(
        sa.update(T)
        .where(sa.tuple_(T.c.name, T.c.queue_token).in_(list(tokens.items())),
               fresh_token())
        .values(launched_at=now)
    )
    return int(result.rowcount)


def _stale_reason(row: Any, token: str) -> str:
    if row.queue_token != token:
        return ("it was enqueued again since (a newer launch owns it)" if row.queue_token
                else "it holds no queue token")
    if row.status != "queued":
        return f"that enqueue was already claimed by a run (the table is now {row.status!r})"
    return "it was queued again by another path since; the next tick hands out a new token"


def claim_queued(
    conn: sa.Connection,
    name: str,
    token: str,
    *,
    owner: str,
    lease_seconds: int,
    now: datetime,
) -> Claim:
    """Claim ``name`` for the run launched with ``token``, if that token is still fresh.

    Raises:
        UnknownNameError: No such table.
        StaleQueueTokenError: The token is not the table's fresh token; nothing changed.
    """
    check_now(now)
    check_actor(owner)
    if not isinstance(token, str) or not token:
        raise ConfigError(f"queue_token for table {name!r} must be a non-empty string")
    row = table_row(conn, name, lock=True)
    if row.queue_token != token or not token_is_fresh(row):
        raise StaleQueueTokenError(
            f"table {name!r}: queue token {token!r} is stale: {_stale_reason(row, token)}; "
            "this launch runs nothing (the table's current enqueue has its own launch)"
        )
    return claim_table(conn, name, owner=owner, lease_seconds=lease_seconds, now=now)

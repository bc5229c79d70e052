"""The master sensor's work: enqueue due tables and hand out queued ones with a token."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from dataloader_sdk.orchestration.types import QueuedTable

if TYPE_CHECKING:
    from dataloader_sdk.control.store import ControlStore

__all__ = ["enqueue_due", "mark_launched", "mark_many_launched"]


def enqueue_due(
    store: ControlStore,
    *,
    now: datetime,
    limit: int | None = None,
    handout_seconds: int = 60,
) -> list[QueuedTable]:
    """Move due tables to ``queued``; return every queued table not yet launched.

    Due: enabled, ``next_run_at <= now`` (or never run but scheduled) and ``idle``,
    ``succeeded`` or ``skipped``. Failed tables are requeued by :func:`analyse_retries`
    only. The result is every enabled ``queued`` table not yet launched
    (:func:`mark_launched`) and not handed to another call in the last
    ``handout_seconds``: tables queued by an earlier tick that crashed before launching
    come back (with the same token, so the same run key) once that hand-out expires.
    Tables queued by another path (a manual ``set_status``, the store's own enqueue) get
    a new token here. Highest priority (lowest number) first, then oldest.

    Safe to call from several schedulers at once: a table is handed to one call only
    (PostgreSQL ``FOR UPDATE SKIP LOCKED``; on SQLite each transaction is serial).

    Args:
        store: The control store.
        now: The tick's time (timezone-aware).
        limit: At most this many tables are enqueued and returned (bounded tick work);
            the rest wait for the next tick. ``None``: no bound.
        handout_seconds: How long a table handed out but not reported launched stays
            with the call that received it before another call gets it again.

    Returns:
        The queued, not yet launched tables, each with its current queue token.
    """
    return store.orchestration_enqueue(now=now, limit=limit, handout_seconds=handout_seconds)


def mark_launched(store: ControlStore, name: str, token: str, *, now: datetime) -> bool:
    """Record that a scheduler launched the run for ``name``'s current enqueue.

    Later ticks of :func:`enqueue_due` no longer return it. Call it once the scheduler
    has durably accepted the run (after the ``RunRequest`` is returned, after the task is
    submitted): a crash before it only re-emits the same ``run_key``, which a
    de-duplicating scheduler ignores.

    Returns:
        ``False`` when ``token`` is no longer the table's (already claimed, or enqueued
        again since); nothing is changed then.
    """
    return store.orchestration_mark_launched({name: token}, now=now) == 1


def mark_many_launched(
    store: ControlStore, queued: Iterable[QueuedTable], *, now: datetime
) -> int:
    """:func:`mark_launched` for many tables in one statement; returns how many held."""
    return store.orchestration_mark_launched(
        {q.name: q.queue_token for q in queued}, now=now)

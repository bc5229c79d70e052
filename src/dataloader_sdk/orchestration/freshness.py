"""The landing-table monitor: is each scheduled table's Delta target fresh enough?

A table's SLA is its ``freshness_sla_seconds``, else ``DEFAULT_SLA_MULTIPLE`` times its
interval; tables with neither are not checked. The age of a target is measured from the
newer of its last successful (or skipped: source unchanged) run and its last Delta
commit. The control DB answers for most tables in one query; the engine is asked for
the last commit only of the tables the control DB cannot vouch for (stale, or never
loaded), so a pass over thousands of fresh tables touches no storage.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from dataloader_sdk.control.findings import Freshness, FreshnessStatus, LandingRow
from dataloader_sdk.errors import ConfigError, DataLoaderError
from dataloader_sdk.model import TargetName

if TYPE_CHECKING:
    from dataloader_sdk.control.store import ControlStore
    from dataloader_sdk.engines.base import Engine

__all__ = ["DEFAULT_SLA_MULTIPLE", "check_landing_tables", "sla_seconds"]

#: A table without its own SLA may be this many intervals old.
DEFAULT_SLA_MULTIPLE = 3


def sla_seconds(row: LandingRow, multiple: int = DEFAULT_SLA_MULTIPLE) -> int | None:
    """The table's SLA in seconds (``None``: no SLA and no interval, so not checked)."""
    if row.freshness_sla_seconds is not None:
        return row.freshness_sla_seconds
    if row.interval_seconds is not None:
        return row.interval_seconds * multiple
    return None


def _judge(row: LandingRow, sla: int, now: datetime, commit: datetime | None,
           asked: bool, error: str | None) -> Freshness:
    stamps = [t for t in (row.last_success_at, commit) if t is not None]
    newest = max(stamps) if stamps else None
    limit = timedelta(seconds=sla)
    if newest is None or (asked and commit is None):
        # Never loaded, or the engine says there is no table: late from when it was
        # added (a table added a moment ago is pending, not missing).
        late = (now - (row.created_at + limit)).total_seconds()
        status: FreshnessStatus = (
            "missing" if late > 0 or newest is not None or error is not None else "pending")
        age = (now - newest).total_seconds() if newest is not None else None
        return Freshness(row.name, row.target, sla, row.last_success_at, commit, age,
                         status, max(late, 0.0) if status == "missing" else 0.0, error)
    age = (now - newest).total_seconds()
    late = age - sla
    return Freshness(row.name, row.target, sla, row.last_success_at, commit, age,
                     "stale" if late > 0 else "fresh", max(late, 0.0), error)


def check_landing_tables(
    store: ControlStore,
    engine: Engine,
    *,
    now: datetime,
    sla_multiple: int = DEFAULT_SLA_MULTIPLE,
    verify_targets: bool = False,
) -> list[Freshness]:
    """The freshness of every enabled table that has an SLA or an interval, by name.

    Args:
        store: The control store.
        engine: The engine that writes the targets (asked for their last commit).
        now: The check's time.
        sla_multiple: The default SLA in intervals, for tables without their own.
        verify_targets: Ask the engine about every table, not only those the control DB
            cannot vouch for (finds targets deleted behind the loader's back; one
            storage round trip per table).

    Returns:
        One :class:`Freshness` per checked table; ``status`` tells fresh, pending,
        stale or missing, ``late_seconds`` how late.
    """
    if isinstance(sla_multiple, bool) or not isinstance(sla_multiple, int) or sla_multiple < 1:
        raise ConfigError(f"sla_multiple must be a positive integer, got {sla_multiple!r}")
    out: list[Freshness] = []
    for row in store.orchestration_landing():
        sla = sla_seconds(row, sla_multiple)
        if sla is None:  # pragma: no cover - the query returns only tables with one
            continue
        vouched = (row.last_success_at is not None
                   and (now - row.last_success_at).total_seconds() <= sla)
        if vouched and not verify_targets:
            out.append(_judge(row, sla, now, None, asked=False, error=None))
            continue
        commit: datetime | None = None
        error: str | None = None
        try:
            commit = engine.last_commit_time(TargetName.parse(row.target))
        except DataLoaderError as exc:
            error = str(exc)
        out.append(_judge(row, sla, now, commit, asked=True, error=error))
    return out

"""Doctor checks on the table rows: stale leases, needs_attention, unreadable rows.

Read-only: unlike the monitors (``dataloader monitor``), the doctor only reports a stale
lease; failing the run is left to the monitor, which records it in history and audit.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from dataloader_sdk.doctor._report import CheckResult

if TYPE_CHECKING:
    from dataloader_sdk.control.store import ControlStore

__all__ = ["check_tables"]


def check_tables(store: ControlStore, now: datetime) -> list[CheckResult]:
    """One line each for stale leases, tables needing attention and unreadable rows."""
    tables = store.list_tables()
    stale = sorted(
        (t for t in tables
         if t.status == "running" and t.lease_expires_at is not None
         and t.lease_expires_at < now),
        key=lambda t: t.name,
    )
    results = [CheckResult("tables", "tables", "ok", f"{len(tables)} table(s) configured")]
    if stale:
        shown = ", ".join(
            f"{t.name} (owner {t.lease_owner}, expired {t.lease_expires_at:%Y-%m-%d %H:%M} UTC)"
            for t in stale
        )
        results.append(CheckResult(
            "tables", "stale leases", "fail", f"{len(stale)} running table(s) whose lease "
            f"expired: {shown}",
            "if the worker is gone, run `dataloader monitor` (fails the run as stalled and "
            "retries it); see docs/troubleshooting.md",
        ))
    else:
        results.append(CheckResult("tables", "stale leases", "ok", "none"))
    attention = sorted(t.name for t in tables if t.status == "needs_attention")
    if attention:
        results.append(CheckResult(
            "tables", "needs_attention", "fail", ", ".join(attention),
            "read why with `dataloader history NAME`, fix the cause, then "
            "`dataloader tables ack NAME`",
        ))
    else:
        results.append(CheckResult("tables", "needs_attention", "ok", "none"))
    broken = store.broken_tables()
    if broken:
        results.append(CheckResult(
            "tables", "unreadable rows", "fail",
            "; ".join(f"{b.name}: {b.problem}" for b in broken),
            "correct the rows named (edited by hand?) or remove them",
        ))
    return results

"""All four monitors in one pass, as ``dataloader monitor`` and cron-style schedulers run them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from dataloader_sdk.control.findings import Freshness, RetryDecision, StuckTable
from dataloader_sdk.model import JSONValue
from dataloader_sdk.orchestration.freshness import DEFAULT_SLA_MULTIPLE, check_landing_tables
from dataloader_sdk.orchestration.monitors import find_long_queued, find_long_running
from dataloader_sdk.orchestration.retries import Backoff, analyse_retries
from dataloader_sdk.orchestration.types import to_json

if TYPE_CHECKING:
    from dataloader_sdk.control.store import ControlStore
    from dataloader_sdk.engines.base import Engine

__all__ = ["MonitorReport", "run_monitors"]


@dataclass(frozen=True)
class MonitorReport:
    """What one pass of the monitors found and did.

    Attributes:
        long_queued: Tables failed as stuck in ``queued``.
        long_running: Tables failed as stuck in ``running``.
        retries: The retry analysis' decisions (after the two above).
        freshness: Every checked table's freshness.
        needs_attention: Tables in ``needs_attention`` after the pass, by name.
    """

    long_queued: tuple[StuckTable, ...]
    long_running: tuple[StuckTable, ...]
    retries: tuple[RetryDecision, ...]
    freshness: tuple[Freshness, ...]
    needs_attention: tuple[str, ...]

    @property
    def late(self) -> tuple[Freshness, ...]:
        """The stale or missing tables."""
        return tuple(f for f in self.freshness if not f.ok)

    @property
    def healthy(self) -> bool:
        """Nothing is late and nothing needs attention (``dataloader monitor`` exits 0)."""
        return not self.late and not self.needs_attention

    def to_json(self) -> dict[str, JSONValue]:
        """The report as JSON (``dataloader monitor --json``)."""
        return {
            "healthy": self.healthy,
            "long_queued": [to_json(s) for s in self.long_queued],
            "long_running": [to_json(s) for s in self.long_running],
            "retries": [to_json(d) for d in self.retries],
            "freshness": [to_json(f) for f in self.freshness],
            "needs_attention": list(self.needs_attention),
        }


def run_monitors(
    store: ControlStore,
    engine: Engine,
    *,
    now: datetime,
    queued_older_than: timedelta = timedelta(minutes=30),
    running_grace: timedelta = timedelta(0),
    backoff: Backoff | None = None,
    sla_multiple: int = DEFAULT_SLA_MULTIPLE,
) -> MonitorReport:
    """Run the stuck monitors, the retry analysis and the freshness check, in that order.

    The order matters: a table found stuck is failed first, so the same pass already
    decides its retry.
    """
    queued = find_long_queued(store, now=now, older_than=queued_older_than)
    running = find_long_running(store, now=now, grace=running_grace)
    decisions = analyse_retries(store, now=now, backoff=backoff)
    fresh = check_landing_tables(store, engine, now=now, sla_multiple=sla_multiple)
    attention = store.orchestration_in_status("needs_attention")
    return MonitorReport(tuple(queued), tuple(running), tuple(decisions), tuple(fresh),
                         tuple(attention))

"""The orchestration adapter's store side, as a part of :class:`ControlStore`.

``dataloader_sdk.orchestration`` calls these (prefer it); each is one transaction whose
work lives in its own module (``queue``, ``monitoring``, ``retrying``, ``landing``).
Kept apart from ``store.py`` so that the facade's own operations stay one screenful each.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TypeVar

import sqlalchemy as sa

from dataloader_sdk.control.findings import (
    FailedTable,
    LandingRow,
    QueuedTable,
    RetryDecision,
    StuckTable,
)
from dataloader_sdk.control.records import Claim
from dataloader_sdk.model import TableStatus

__all__ = ["OrchestrationOps"]

_T = TypeVar("_T")


class OrchestrationOps:
    """The orchestration operations of :class:`~dataloader_sdk.control.store.ControlStore`."""

    environment: str

    def _run(self, fn: Callable[[sa.Connection], _T], what: str = "complete a store call") -> _T:
        raise NotImplementedError  # pragma: no cover - ControlStore provides it

    # The adapter's store side (``dataloader_sdk.orchestration`` calls these; prefer it).
    # Each is one transaction in its own module; they are imported here, not at the top,
    # so this block stays apart from the facade's own operations.

    def orchestration_enqueue(
        self, *, now: datetime, limit: int | None = None, handout_seconds: int = 60
    ) -> list[QueuedTable]:
        """Enqueue due tables and hand out the queued, unlaunched ones (control/queue.py)."""
        from dataloader_sdk.control import queue
        return self._run(lambda c: queue.enqueue_due(
            c, now=now, limit=limit, handout_seconds=handout_seconds))

    def orchestration_mark_launched(self, tokens: Mapping[str, str], *, now: datetime) -> int:
        """Stamp the launch of each table's current enqueue; returns how many held."""
        from dataloader_sdk.control import queue
        return self._run(lambda c: queue.mark_launched(c, tokens, now=now))

    def orchestration_claim(
        self, name: str, token: str, *, owner: str, lease_seconds: int, now: datetime
    ) -> Claim:
        """Claim ``name`` for the launch holding ``token`` (StaleQueueTokenError if stale)."""
        from dataloader_sdk.control import queue
        return self._run(lambda c: queue.claim_queued(
            c, name, token, owner=owner, lease_seconds=lease_seconds, now=now))

    def orchestration_fail_long_queued(
        self, *, now: datetime, older_than: timedelta, retry_delay_seconds: int,
        limit: int | None = None,
    ) -> list[StuckTable]:
        """Fail tables queued for longer than ``older_than`` (control/monitoring.py)."""
        from dataloader_sdk.control import monitoring
        return self._run(lambda c: monitoring.fail_long_queued(
            c, now=now, older_than=older_than, retry_delay_seconds=retry_delay_seconds,
            environment=self.environment, limit=limit))

    def orchestration_fail_long_running(
        self, *, now: datetime, grace: timedelta, retry_delay_seconds: int,
        limit: int | None = None,
    ) -> list[StuckTable]:
        """Fail running tables whose lease expired ``grace`` ago (control/monitoring.py)."""
        from dataloader_sdk.control import monitoring
        return self._run(lambda c: monitoring.fail_long_running(
            c, now=now, grace=grace, retry_delay_seconds=retry_delay_seconds,
            environment=self.environment, limit=limit))

    def orchestration_failed(self) -> list[FailedTable]:
        """Every failed table with its attempts and last error (control/retrying.py)."""
        from dataloader_sdk.control import retrying
        return self._run(retrying.failed_tables)

    def orchestration_apply_retries(
        self, decide: Callable[[FailedTable], RetryDecision], *, now: datetime,
        limit: int | None = None,
    ) -> list[RetryDecision]:
        """Lock the failed tables, ``decide`` each, apply (control/retrying.py)."""
        from dataloader_sdk.control import retrying
        return self._run(lambda c: retrying.apply_retries(
            c, decide, now=now, environment=self.environment, limit=limit))

    def orchestration_in_status(self, status: TableStatus) -> list[str]:
        """Names of the tables in ``status``, sorted."""
        from dataloader_sdk.control import retrying
        return self._run(lambda c: retrying.tables_in_status(c, status))

    def orchestration_landing(self) -> list[LandingRow]:
        """Each scheduled, enabled table's last success (control/landing.py)."""
        from dataloader_sdk.control import landing
        return self._run(landing.landing_rows)

"""Scheduling, claims and leases of :class:`ControlStore`.

Each method is one transaction whose work lives in ``scheduling.py`` (every status change
through ``status.py``). Kept apart from ``store.py`` like ``store_config.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Literal, TypeVar

import sqlalchemy as sa

from dataloader_sdk.control import history, scheduling
from dataloader_sdk.control.records import Claim
from dataloader_sdk.control.scheduling import RetryPolicy
from dataloader_sdk.control.unchanged import UnchangedRun, settle_unchanged
from dataloader_sdk.model import RunRecord, TableRecord, TableState, TableStatus

__all__ = ["LeaseOps"]

_T = TypeVar("_T")


class LeaseOps:
    """Scheduling, claims, state and leases of :class:`~dataloader_sdk.control.store.ControlStore`."""

    environment: str
    retry: RetryPolicy
    _clock: Callable[[], datetime]

    def _run(self, fn: Callable[[sa.Connection], _T], what: str = "complete a store call") -> _T:
        raise NotImplementedError  # pragma: no cover - ControlStore provides it

    def enqueue_due(self, *, now: datetime) -> list[str]:
        """Queue every due table and return their names (highest priority first)."""
        return self._run(lambda c: scheduling.enqueue_due(c, now=now, retry=self.retry),
                         "enqueue due tables")

    def claim(
        self, name: str, *, owner: str, lease_seconds: int, now: datetime,
        run: Callable[[TableRecord], RunRecord] | None = None,
    ) -> Claim:
        """Claim one table for a manual run, whatever its schedule.

        With ``run`` (the claimed table → the run's ``running`` history row), the run is
        recorded in the same transaction and returned as ``Claim.run``: one control-DB
        commit instead of two at a run's start, and never a lease without its history
        row. ``run`` must return the same ``run_id`` when called again (the store retries
        a call whose answer was lost; the row is then updated, not doubled).

        Raises:
            UnknownNameError: No such table.
            LeaseError: Another worker holds the lease (named, with its expiry).
        """

        def claim_and_record(conn: sa.Connection) -> Claim:
            held = scheduling.claim(conn, name, owner=owner, lease_seconds=lease_seconds,
                                    now=now)
            if run is None:
                return held
            record = run(held.table)
            history.upsert_run(conn, record)
            return replace(held, run=record)

        return self._run(claim_and_record, f"claim table {name!r}")

    def claim_due(
        self, *, owner: str, limit: int, lease_seconds: int, now: datetime
    ) -> list[Claim]:
        """Claim up to ``limit`` queued tables (lowest ``priority`` number first).

        Safe to call from many workers at once: each table is claimed by exactly one.
        """
        return self._run(lambda c: scheduling.claim_due(
            c, owner=owner, limit=limit, lease_seconds=lease_seconds, now=now,
            environment=self.environment), "claim due tables")

    def save_state(self, claim: Claim, state: TableState) -> None:
        """Store a claimed table's state after a committed step.

        Raises:
            LeaseError: The claim no longer holds (taken over, or failed by a monitor).
        """
        self._run(lambda c: scheduling.save_state(c, claim, state),
                  f"save the state of table {claim.table.name!r}")

    def renew(self, claim: Claim, *, now: datetime, lease_seconds: int) -> Claim:
        """Extend a claim's lease (called periodically during long runs).

        Raises:
            LeaseError: The claim no longer holds (taken over, or failed by a monitor).
        """
        return self._run(
            lambda c: scheduling.renew(c, claim, now=now, lease_seconds=lease_seconds),
            f"renew the lease of table {claim.table.name!r}")

    def finish(
        self,
        claim: Claim,
        *,
        status: Literal["succeeded", "failed", "skipped", "cancelled"],
        now: datetime,
        permanent: bool = False,
    ) -> TableRecord:
        """End a claimed run: release the lease, record the outcome, schedule the next run.

        ``failed`` with ``permanent=True`` or with retries exhausted ends in
        ``needs_attention``; otherwise a failed table is retried after the retry delay.

        Raises:
            LeaseError: The claim no longer holds.
        """
        return self._run(lambda c: scheduling.finish(
            c, claim, status=status, now=now, permanent=permanent, retry=self.retry),
            f"finish the run of table {claim.table.name!r}")

    def settle_unchanged(
        self, runs: Sequence[UnchangedRun], *, now: datetime
    ) -> list[UnchangedRun]:
        """Record many runs that committed nothing, in one transaction; returns the ones
        recorded. Each is recorded only while its table is still as read (or its claim
        still holds); see :mod:`dataloader_sdk.control.unchanged`."""
        return self._run(lambda c: settle_unchanged(c, runs, now=now),
                         f"record {len(runs)} unchanged run(s)")

    def set_status(
        self, name: str, to: TableStatus, *, actor: str, reason: str
    ) -> TableRecord:
        """Change a table's status by hand or from a monitor (audited).

        Raises:
            InvalidTransitionError: The state machine forbids it (names from and to).
        """
        now = self._clock()
        return self._run(lambda c: scheduling.set_status(
            c, name, to, actor=actor, reason=reason, now=now, retry=self.retry,
            environment=self.environment))

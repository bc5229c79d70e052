"""The stuck-table monitors: tables stuck in ``queued`` or ``running`` move to ``failed``.

A stuck table is failed with the error class ``stalled`` (recorded in the run history
and the audit log), after which :func:`~dataloader_sdk.orchestration.analyse_retries`
applies the retry policy to it like to any other transient failure.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from dataloader_sdk.control.findings import StuckTable
from dataloader_sdk.control.monitoring import STALLED

if TYPE_CHECKING:
    from dataloader_sdk.control.store import ControlStore

__all__ = ["STALLED", "find_long_queued", "find_long_running"]


def find_long_queued(
    store: ControlStore, *, now: datetime, older_than: timedelta, limit: int | None = None
) -> list[StuckTable]:
    """Fail the tables that have been ``queued`` for longer than ``older_than``.

    A table stays queued only until a launched run claims it, so one queued for long
    lost its launch (the scheduler crashed, the run was never started, its worker
    never came up). Choose ``older_than`` above the scheduler's worst queueing delay
    (its run queue and concurrency limits), e.g. 30 minutes.

    Returns:
        The tables failed by this call, oldest first.
    """
    return store.orchestration_fail_long_queued(
        now=now, older_than=older_than, retry_delay_seconds=store.retry.delay_seconds,
        limit=limit)


def find_long_running(
    store: ControlStore,
    *,
    now: datetime,
    grace: timedelta = timedelta(0),
    limit: int | None = None,
) -> list[StuckTable]:
    """Fail the ``running`` tables whose lease expired (their heartbeat stopped).

    A live run renews its lease from a heartbeat every third of the lease
    (``DataLoader(lease_seconds=...)``), so an expired lease means the heartbeat is
    stale by a whole lease: the worker was killed, hangs or lost the control DB. The
    worker, if it comes back, can no longer save state or finish (its lease is gone).

    Args:
        store: The control store.
        now: The check's time.
        grace: Extra time past the lease's expiry before a run counts as stuck.
        limit: Fail at most this many per call.

    Returns:
        The tables failed by this call, longest stuck first.
    """
    return store.orchestration_fail_long_running(
        now=now, grace=grace, retry_delay_seconds=store.retry.delay_seconds, limit=limit)

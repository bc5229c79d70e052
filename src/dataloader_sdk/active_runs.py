"""The runs in progress in this process, so a process about to exit can release them.

A second Ctrl-C ends ``dataloader run`` at once, without waiting for its worker threads
(``os._exit``: native writer threads must not meet interpreter shutdown). Before that,
:meth:`ActiveRuns.abort` records each run still in progress as ``cancelled`` and releases
its lease, so the next run finds the same clean state a first Ctrl-C leaves.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from dataloader_sdk.cancel import LoadCancelledError
from dataloader_sdk.errors import LeaseError

if TYPE_CHECKING:
    from dataloader_sdk.control.protocol import RunStore
    from dataloader_sdk.lease import LeaseHeartbeat
    from dataloader_sdk.model import RunRecord

__all__ = ["ActiveRuns"]

log = logging.getLogger(__name__)


class ActiveRuns:
    """Thread-safe registry: run id → (heartbeat, run record, rows read so far)."""

    def __init__(self) -> None:
        self._runs: dict[str, tuple[LeaseHeartbeat, RunRecord, list[int]]] = {}
        self._lock = threading.Lock()

    def add(self, heartbeat: LeaseHeartbeat, run: RunRecord, read: list[int]) -> None:
        """Register a run; ``read[0]`` is kept up to date by the run."""
        with self._lock:
            self._runs[run.run_id] = (heartbeat, run, read)

    def remove(self, run_id: str) -> None:
        """Forget a run that ended."""
        with self._lock:
            self._runs.pop(run_id, None)

    def abort(self, store: RunStore, clock: Callable[[], datetime], reason: str) -> int:
        """Record every registered run as cancelled and release its lease, now.

        Best effort, each run on its own; the runs' threads are not waited for. Returns
        how many leases were released.
        """
        with self._lock:
            active = list(self._runs.values())
        released = 0
        for heartbeat, run, read in active:
            cancelled = replace(run, status="cancelled", finished_at=clock(),
                                rows_read=read[0],
                                error_class=LoadCancelledError.__name__,
                                error_message=f"table {run.table!r}: cancelled ({reason}); "
                                "the process exited before the run ended")
            try:
                # finish first: it fails when the run ended meanwhile, whose own history
                # row must then stay as the run wrote it.
                store.finish(heartbeat.claim, status="cancelled", now=clock())
                store.record_run(cancelled)
                released += 1
            except LeaseError:
                continue  # the run ended (and released its lease) meanwhile
            except Exception as exc:  # the next claim takes a dead process's lease over
                log.error("table %s: could not release the lease on exit: %s", run.table, exc)
        return released

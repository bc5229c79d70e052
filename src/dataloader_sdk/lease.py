"""Keeping a claim's lease alive during a run, and proving it right before a commit.

A run longer than its lease would look stuck and could be taken over, so a background
thread renews the lease. A control database that hiccups must not kill the renewals (the
lease would then expire under a healthy run); a lease that is really lost — taken over,
failed by a monitor, or expired while the control DB stayed unreachable — must stop the
run before it commits. :meth:`LeaseHeartbeat.verify` renews synchronously and is called by
the runner at the end of each step's read, right before the engine commits.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from dataloader_sdk.errors import DataLoaderError, LeaseError

if TYPE_CHECKING:
    from dataloader_sdk.control.protocol import RunStore
    from dataloader_sdk.control.store import Claim

__all__ = ["LeaseHeartbeat"]

log = logging.getLogger(__name__)


class LeaseHeartbeat:
    """Renews a claim's lease from a background thread while a run is in progress.

    Transient renewal failures are logged and retried sooner; the lease counts as lost
    when the store says so (:class:`LeaseError`) or when it expired without a successful
    renewal. :meth:`check` and :meth:`verify` then raise, before the next commit.
    """

    def __init__(self, store: RunStore, claim: Claim, clock: Callable[[], datetime],
                 lease_seconds: int) -> None:
        self._store = store
        self._claim = claim
        self._clock = clock
        self._lease_seconds = lease_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.error: LeaseError | None = None

    @property
    def claim(self) -> Claim:
        """The claim as last renewed."""
        return self._claim

    def beat(self) -> bool:
        """Renew once. Returns whether it succeeded; remembers a lost lease."""
        with self._lock:
            if self.error is not None:
                return False
            try:
                self._claim = self._store.renew(self._claim, now=self._clock(),
                                                lease_seconds=self._lease_seconds)
                return True
            except LeaseError as exc:
                self.error = exc
                return False
            except DataLoaderError as exc:  # the control DB is unavailable: try again soon
                if self._clock() >= self._claim.expires_at:
                    self.error = LeaseError(
                        f"table {self._claim.table.name!r}: the lease expired at "
                        f"{self._claim.expires_at.isoformat()} while the control database "
                        f"could not be reached to renew it ({exc}); another worker may have "
                        "taken over, so this run stops before committing"
                    )
                else:
                    log.warning("table %s: lease renewal failed, retrying: %s",
                                self._claim.table.name, exc)
                return False

    def check(self) -> None:
        """Raise if a renewal found the lease lost."""
        if self.error is not None:
            raise self.error

    def verify(self) -> None:
        """Renew now and raise unless the lease is held: called right before a commit."""
        if not self.beat():
            self.check()
            if self._clock() >= self._claim.expires_at:  # pragma: no cover - beat() set it
                raise LeaseError(f"table {self._claim.table.name!r}: the lease expired")

    def _loop(self) -> None:
        interval = max(self._lease_seconds / 3, 1.0)
        wait = interval
        while not self._stop.wait(wait) and self.error is None:
            # After a failed renewal retry sooner, so a short outage costs little lease.
            wait = interval if self.beat() else max(interval / 6, 0.5)

    def __enter__(self) -> LeaseHeartbeat:
        self._thread = threading.Thread(target=self._loop, name="dataloader-lease",
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

"""Keeping a claim's lease alive during a run, and proving it right before a commit.

A run longer than its lease would look stuck and could be taken over, so a background
thread renews the lease: one thread (:class:`Heartbeats`) for every run in progress in
the process, not one per run. Starting and joining a thread per run cost 2.5-6 ms of a
run under the GIL (measured with 200 unchanged tables, four workers), more than an
unchanged small table's whole source work.

A control database that hiccups must not kill the renewals (the
lease would then expire under a healthy run); a lease that is really lost — taken over,
failed by a monitor, or expired while the control DB stayed unreachable — must stop the
run before it commits. :meth:`LeaseHeartbeat.verify` renews synchronously and is called by
the runner at the end of each step's read, right before the engine commits.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from dataloader_sdk.errors import DataLoaderError, LeaseError

if TYPE_CHECKING:
    from dataloader_sdk.control.protocol import RunStore
    from dataloader_sdk.control.store import Claim

__all__ = ["Heartbeats", "LeaseHeartbeat", "shared_heartbeats"]

log = logging.getLogger(__name__)


class LeaseHeartbeat:
    """Renews a claim's lease from a background thread while a run is in progress.

    Transient renewal failures are logged and retried sooner; the lease counts as lost
    when the store says so (:class:`LeaseError`) or when it expired without a successful
    renewal. :meth:`check` and :meth:`verify` then raise, before the next commit.
    """

    def __init__(self, store: RunStore, claim: Claim, clock: Callable[[], datetime],
                 lease_seconds: int, beats: Heartbeats | None = None) -> None:
        self._store = store
        self._claim = claim
        self._clock = clock
        self._lease_seconds = lease_seconds
        self._beats = beats
        self._stopped = False
        self._lock = threading.Lock()
        self.error: LeaseError | None = None
        #: Seconds between renewals, and after a failed one (a short outage costs little).
        self.interval = max(lease_seconds / 3, 1.0)
        self.retry_interval = max(self.interval / 6, 0.5)

    @property
    def claim(self) -> Claim:
        """The claim as last renewed."""
        return self._claim

    def beat(self) -> bool:
        """Renew once. Returns whether it succeeded; remembers a lost lease."""
        with self._lock:
            if self.error is not None or self._stopped:
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

    def __enter__(self) -> LeaseHeartbeat:
        (self._beats or shared_heartbeats()).add(self)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:  # waits for a renewal in flight: none happens after this
            self._stopped = True
        (self._beats or shared_heartbeats()).remove(self)


class Heartbeats:
    """One daemon thread renewing the leases of every run in progress.

    Each :class:`LeaseHeartbeat` is renewed every ``interval`` seconds (sooner after a
    failed renewal) until its run ends or its lease is found lost. The thread starts
    with the first run and ends after ``idle_seconds`` without any. A renewal that
    hangs on the control database delays the others; their leases have two thirds of
    the lease time to spare, and a control database that hangs stalls every run anyway.
    """

    def __init__(self, idle_seconds: float = 30.0) -> None:
        self._idle = idle_seconds
        self._cond = threading.Condition()
        self._due: dict[LeaseHeartbeat, float] = {}
        self._thread: threading.Thread | None = None

    def add(self, beat: LeaseHeartbeat) -> None:
        """Renew ``beat``'s lease from now on (first after one interval)."""
        with self._cond:
            self._due[beat] = time.monotonic() + beat.interval
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="dataloader-lease",
                                                daemon=True)
                self._thread.start()
            self._cond.notify()

    def remove(self, beat: LeaseHeartbeat) -> None:
        """Stop renewing ``beat``'s lease."""
        with self._cond:
            self._due.pop(beat, None)

    def _next(self) -> LeaseHeartbeat | None:
        """The next lease due, once due; ``None`` when the thread should end (idle)."""
        idle_since: float | None = None
        with self._cond:
            while True:
                now = time.monotonic()
                if not self._due:
                    idle_since = now if idle_since is None else idle_since
                    if now - idle_since >= self._idle:
                        self._thread = None
                        return None
                    self._cond.wait(self._idle - (now - idle_since))
                    continue
                idle_since = None
                beat, when = min(self._due.items(), key=lambda item: item[1])
                if when <= now:
                    self._due[beat] = float("inf")  # being renewed: not picked again
                    return beat
                self._cond.wait(when - now)

    def _loop(self) -> None:
        try:
            while (beat := self._next()) is not None:
                self._renew(beat)
        finally:
            with self._cond:  # ended by an error too: the next add() starts a new thread
                if self._thread is threading.current_thread():
                    self._thread = None

    def _renew(self, beat: LeaseHeartbeat) -> None:
        try:
            renewed = beat.beat()  # outside the lock: one slow renewal holds no other add
        except Exception as exc:  # a bug in one renewal must not end every run's renewals
            log.warning("table %s: lease renewal failed unexpectedly, retrying: %s",
                        beat.claim.table.name, type(exc).__name__)
            renewed = False
        with self._cond:
            if beat not in self._due:
                return  # its run ended meanwhile
            if beat.error is not None:
                del self._due[beat]  # lost: check()/verify() report it to the run
            else:
                self._due[beat] = time.monotonic() + (
                    beat.interval if renewed else beat.retry_interval)


@functools.cache
def shared_heartbeats() -> Heartbeats:
    """The process's :class:`Heartbeats` (created on first use)."""
    return Heartbeats()

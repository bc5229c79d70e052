"""One thread renews the leases of every run in progress (``lease.Heartbeats``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from dataloader_sdk.control import ControlStore
from dataloader_sdk.errors import LeaseError
from dataloader_sdk.lease import Heartbeats, LeaseHeartbeat
from dataloader_sdk.model import SourceConfig, TableConfig, TargetName, utcnow

LEASE = 3  # renewed every second


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ControlStore]:
    s = ControlStore.open(f"sqlite:///{tmp_path}/c.db")
    s.add_source(SourceConfig("pg", db_type="postgresql", host="h", database="d",
                              username="u", secret="env:X"), actor="t")
    for name in ("a", "b"):
        s.add_table(TableConfig(name, "pg", TargetName("bronze", name), source_table=name),
                    actor="t")
    yield s
    s.close()


def _counting_clock(start: datetime) -> tuple[Callable[[], datetime], list[int]]:
    calls = [0]
    lock = threading.Lock()

    def clock() -> datetime:
        with lock:
            calls[0] += 1
            return start + timedelta(milliseconds=calls[0])

    return clock, calls


def _until(condition: Callable[[], bool], what: str, deadline: float = 15.0) -> None:
    end = time.monotonic() + deadline
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_one_thread_renews_every_run_until_it_ends(store: ControlStore) -> None:
    beats = Heartbeats(idle_seconds=0.3)
    now = utcnow()
    clocks = {name: _counting_clock(now) for name in ("a", "b")}
    runs = {name: LeaseHeartbeat(store, store.claim(name, owner="w1", lease_seconds=LEASE,
                                                   now=now), clocks[name][0], LEASE, beats)
            for name in ("a", "b")}
    def lease_threads() -> int:
        return sum(t.name == "dataloader-lease" for t in threading.enumerate())

    before = lease_threads()
    with runs["a"], runs["b"]:
        _until(lambda: all(c[1][0] >= 2 for c in clocks.values()), "two renewals of each")
        assert beats._thread is not None and beats._thread.is_alive()
        assert lease_threads() == before + 1  # one thread for both runs
        expires = store.get_table("a").lease_expires_at
        assert expires is not None and expires > now + timedelta(seconds=LEASE)
    renewed = {name: c[1][0] for name, c in clocks.items()}
    # Ended: no renewal after the block, and the idle thread goes away.
    _until(lambda: beats._thread is None, "the idle thread to end")
    assert {name: c[1][0] for name, c in clocks.items()} == renewed


def test_a_lost_lease_is_dropped_and_reported_to_its_run(store: ControlStore) -> None:
    beats = Heartbeats(idle_seconds=0.3)
    now = utcnow()
    clock, calls = _counting_clock(now)
    beat = LeaseHeartbeat(store, store.claim("a", owner="w1", lease_seconds=LEASE, now=now),
                          clock, LEASE, beats)
    with beat:
        # Another worker takes the table over (the lease expired, say).
        store.claim("a", owner="w2", lease_seconds=LEASE, now=now + timedelta(hours=1))
        _until(lambda: beat.error is not None, "the renewal to find the lease lost")
        with pytest.raises(LeaseError, match="w2"):
            beat.check()
        _until(lambda: beat not in beats._due, "the lost lease to leave the schedule")
        tried = calls[0]
        assert beat.beat() is False and calls[0] == tried  # not tried again


def test_no_renewal_after_the_run_ended(store: ControlStore) -> None:
    beats = Heartbeats(idle_seconds=0.3)
    now = utcnow()
    clock, calls = _counting_clock(now)
    beat = LeaseHeartbeat(store, store.claim("b", owner="w1", lease_seconds=LEASE, now=now),
                          clock, LEASE, beats)
    with beat:
        pass
    assert beat.beat() is False and calls[0] == 0  # stopped: renews nothing any more


def test_an_unexpected_error_in_one_renewal_stops_no_other(store: ControlStore) -> None:
    """A bug in one run's renewal (here its clock raises) must not end the shared thread."""
    beats = Heartbeats(idle_seconds=0.3)
    now = utcnow()
    failures = [0]

    def broken_clock() -> datetime:
        failures[0] += 1
        raise RuntimeError("a bug in the clock")

    clock, calls = _counting_clock(now)
    bad = LeaseHeartbeat(store, store.claim("a", owner="w1", lease_seconds=LEASE, now=now),
                         broken_clock, LEASE, beats)
    good = LeaseHeartbeat(store, store.claim("b", owner="w1", lease_seconds=LEASE, now=now),
                          clock, LEASE, beats)
    with bad, good:
        _until(lambda: failures[0] >= 2 and calls[0] >= 2,
               "the broken renewal retried and the good one renewed twice")
        assert beats._thread is not None and beats._thread.is_alive()
        assert bad.error is None  # not a lost lease: the run decides at its next check

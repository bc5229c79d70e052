"""Concurrent ticks: a table is never handed to two enqueue_due calls (threads, own stores)."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

from dataloader_sdk import orchestration as orch
from dataloader_sdk.control import ControlStore
from dataloader_sdk.control.findings import QueuedTable
from dataloader_sdk.model import utcnow
from tests.orchestration.conftest import add_raw_source, table

TABLES = 120
TICKERS = 4


def _race(url: str, ticks: int, limit: int | None) -> list[QueuedTable]:
    """``TICKERS`` threads, each with its own store, tick ``ticks`` times at once."""
    stores = [ControlStore.open(url, upgrade=False) for _ in range(TICKERS)]
    barrier = threading.Barrier(TICKERS)
    handed: list[QueuedTable] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    now = utcnow()

    def tick(store: ControlStore) -> None:
        try:
            for i in range(ticks):
                barrier.wait(timeout=60)
                # All within one hand-out period (60 s): nothing may come back.
                got = orch.enqueue_due(store, now=now + timedelta(seconds=i), limit=limit)
                with lock:
                    handed.extend(got)
        except BaseException as exc:  # reported below, never swallowed
            errors.append(exc)

    threads = [threading.Thread(target=tick, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for s in stores:
        s.close()
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    return handed


def test_concurrent_ticks_never_hand_out_a_table_twice(
    store: ControlStore, control_url: str
) -> None:
    add_raw_source(store)
    for i in range(TABLES):
        store.add_table(table(f"t{i:03d}", priority=i % 7), actor="t")
    handed = _race(control_url, ticks=5, limit=17)
    counts = Counter(q.name for q in handed)
    assert [name for name, n in counts.items() if n > 1] == []
    # Bounded ticks, but together they handed out every table exactly once.
    assert len(counts) == TABLES
    assert {t.status for t in store.list_tables()} == {"queued"}
    tokens = {q.queue_token for q in handed}
    assert len(tokens) == TABLES


def test_concurrent_unbounded_ticks_split_the_tables(
    store: ControlStore, control_url: str
) -> None:
    add_raw_source(store)
    for i in range(TABLES):
        store.add_table(table(f"t{i:03d}"), actor="t")
    handed = _race(control_url, ticks=1, limit=None)
    assert sorted(q.name for q in handed) == sorted(f"t{i:03d}" for i in range(TABLES))

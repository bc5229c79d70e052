"""Fewer control-DB commits per run (issue #11), checked with raw sqlite3.

A run's ``running`` history row goes in with its claim, and its end (history row and
lease release) is one transaction: neither may leave a lease without its history row,
or a run recorded as ended while its lease is still held.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from dataloader_sdk.errors import LeaseError
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.model import utcnow
from tests.reliability._home import make_source, open_loader, register, source_ids, target_ids


@pytest.fixture
def loader(tmp_path: Path) -> Iterator[tuple[DataLoader, Path, Path]]:
    source = tmp_path / "src.db"
    make_source(source, range(1, 11))
    dl = open_loader(tmp_path / "home")
    register(dl, source)
    database = dl.store._engine.url.database  # the SQLite file, read below with sqlite3
    assert database is not None
    try:
        yield dl, source, Path(database)
    finally:
        dl.close()


def _raw(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def _lease(db: Path) -> tuple[Any, ...]:
    return _raw(db, "SELECT status, lease_owner FROM table_control WHERE name = 'orders'")[0]


def _history(db: Path) -> list[tuple[Any, ...]]:
    return _raw(db, "SELECT run_id, status FROM historical_metadata ORDER BY started_at")


def test_the_claim_records_the_running_row_in_its_own_transaction(
    loader: tuple[DataLoader, Path, Path],
) -> None:
    dl, _, db = loader
    claim = dl._claim("orders")
    assert claim.run is not None and claim.run.status == "running"
    assert _lease(db) == ("running", claim.owner)
    assert _history(db) == [(claim.run.run_id, "running")]
    record = dl.run_claim(claim)
    # The claimed row was used by the run, not a second one.
    assert record.run_id == claim.run.run_id and record.status == "succeeded"
    assert _history(db) == [(record.run_id, "succeeded")]
    assert _lease(db)[1] is None


def test_a_run_end_that_fails_rolls_back_both_writes(
    loader: tuple[DataLoader, Path, Path],
) -> None:
    dl, source, db = loader
    claim = dl._claim("orders")
    assert claim.run is not None
    ended = replace(claim.run, status="succeeded", finished_at=utcnow())
    stale = replace(claim, generation=claim.generation - 1)  # a claim that no longer holds

    def calls() -> None:
        dl.store.record_run(ended)
        dl.store.finish(stale, status="succeeded", now=utcnow())

    with pytest.raises(LeaseError):
        dl.store.together(calls)
    # All or nothing: the history row still says running, and the lease is still held.
    assert _history(db) == [(claim.run.run_id, "running")]
    assert _lease(db) == ("running", claim.owner)
    # The real claim still finishes its run, and loses and duplicates nothing.
    assert dl.run_claim(claim).status == "succeeded"
    assert _history(db) == [(claim.run.run_id, "succeeded")]
    assert target_ids(dl) == source_ids(source)


def test_a_failed_end_of_run_leaves_an_orphan_the_next_claim_closes(
    loader: tuple[DataLoader, Path, Path], monkeypatch: pytest.MonkeyPatch,
) -> None:
    dl, source, db = loader
    real = dl.store.finish

    def lost(*args: Any, **kwargs: Any) -> Any:
        raise LeaseError("lease taken over (injected)")

    monkeypatch.setattr(dl.store, "finish", lost)
    record = dl.load_table("orders", raise_on_error=False)
    assert record.status == "failed"
    # The history row of the run was rolled back with the failed release: still running.
    assert _history(db) == [(record.run_id, "running")]
    monkeypatch.setattr(dl.store, "finish", real)
    dl.store.unlock("orders", actor="test", reason="the owner is this test")
    again = dl.load_table("orders")
    assert again.status == "succeeded"
    statuses = dict(_history(db))
    assert statuses[again.run_id] == "succeeded"
    assert statuses[record.run_id] != "running"  # closed (abandoned), not left open
    assert target_ids(dl) == source_ids(source)

"""Recording a batch's unchanged runs together (``control/unchanged.py``), on both stores.

A run recorded this way held no lease (unless the batch had claimed the table), so it
must be refused whenever its table moved since the sweep read it: claimed by another
worker, edited, reset, or its status changed. Each case is checked on the SQL store and
on the in-memory double, from the store's own reads of the table and its history.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from dataloader_sdk.control import ControlStore
from dataloader_sdk.control.protocol import ControlStoreProtocol
from dataloader_sdk.control.unchanged import UnchangedRun
from dataloader_sdk.model import (
    RunRecord,
    SourceConfig,
    TableConfig,
    TableRecord,
    TargetName,
)
from dataloader_sdk.testing import InMemoryControlStore

T0 = datetime(2026, 12, 2, 4, 0, tzinfo=timezone.utc)
INTERVAL = 600


@pytest.fixture(params=["sqlite", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ControlStoreProtocol]:
    made: ControlStoreProtocol = (ControlStore.open(f"sqlite:///{tmp_path}/dl.db")
                                  if request.param == "sqlite" else InMemoryControlStore())
    made.add_source(SourceConfig("pg", "postgresql", host="db", port=5432, database="app",
                                 username="u", secret="env:PGPW"), actor="test")
    for name in ("orders", "items"):
        made.add_table(TableConfig(name, "pg", TargetName("bronze", name), source_table=name,
                                   interval_seconds=INTERVAL), actor="test")
    yield made
    made.close()


def _unchanged(table: TableRecord, run_id: str, claim: object = None) -> UnchangedRun:
    run = RunRecord(run_id=run_id, table_id=table.table_id, table=table.name,
                    strategy=table.config.strategy, engine="delta-rs", status="succeeded",
                    started_at=T0, finished_at=T0, note="nothing changed")
    return UnchangedRun(table, run, claim)  # type: ignore[arg-type]


def _runs(store: ControlStoreProtocol, name: str) -> list[RunRecord]:
    return store.runs(name, limit=100)


def test_an_unchanged_run_ends_the_table_as_a_claim_and_finish_would(
    store: ControlStoreProtocol,
) -> None:
    before = store.get_table("orders")
    now = T0 + timedelta(seconds=5)
    item = _unchanged(before, "r1")
    assert store.settle_unchanged([item], now=now) == [item]
    after = store.get_table("orders")
    assert after.status == "succeeded"
    assert after.run_generation == before.run_generation + 1  # as a claim bumps it
    assert (after.last_run_at, after.next_run_at) == (now, now + timedelta(seconds=INTERVAL))
    assert (after.lease_owner, after.retry_count, after.state) == (None, 0, before.state)
    (run,) = _runs(store, "orders")
    assert (run.run_id, run.status, run.note) == ("r1", "succeeded", "nothing changed")
    # The other table was not touched.
    assert store.get_table("items").run_generation == 0 and not _runs(store, "items")


def test_settling_again_after_a_lost_answer_records_the_run_once(
    store: ControlStoreProtocol,
) -> None:
    item = _unchanged(store.get_table("orders"), "r1")
    assert store.settle_unchanged([item], now=T0) == [item]
    generation = store.get_table("orders").run_generation
    assert store.settle_unchanged([item], now=T0) == [item]  # the retry finds it done
    assert store.get_table("orders").run_generation == generation
    assert [r.run_id for r in _runs(store, "orders")] == ["r1"]
    # The same read, later: the table moved on (its generation), so it is refused.
    assert store.settle_unchanged([replace(item, run=replace(item.run, run_id="r2"))],
                                  now=T0 + timedelta(seconds=1)) == []


@pytest.mark.parametrize("change", ["claimed", "claimed_and_finished", "edited", "reset",
                                    "status_changed"])
def test_a_table_that_moved_since_the_sweep_read_it_is_left_to_its_usual_run(
    store: ControlStoreProtocol, change: str,
) -> None:
    read = store.get_table("orders")
    other = store.get_table("items")
    if change.startswith("claimed"):
        claim = store.claim("orders", owner="worker-2", lease_seconds=60, now=T0)
        if change == "claimed_and_finished":
            store.finish(claim, status="succeeded", now=T0)
    elif change == "edited":
        store.update_table(replace(read.config, priority=5), expected_version=read.version,
                           actor="test")
    elif change == "reset":
        store.reset_state("orders", actor="test")
    else:
        store.set_status("orders", "queued", actor="test", reason="queued by hand")
    moved = store.get_table("orders")
    items = [_unchanged(read, "r1"), _unchanged(other, "r2")]
    # Only the table that did not move is recorded; the moved one is left exactly as is.
    assert [i.run.run_id for i in store.settle_unchanged(items, now=T0)] == ["r2"]
    assert store.get_table("orders") == moved
    assert "r1" not in {r.run_id for r in _runs(store, "orders")}


def test_with_the_batchs_claim_the_lease_is_released_and_must_still_hold(
    store: ControlStoreProtocol,
) -> None:
    claim = store.claim("orders", owner="batch", lease_seconds=60, now=T0)
    item = _unchanged(claim.table, "r1", claim)
    assert store.settle_unchanged([item], now=T0) == [item]
    after = store.get_table("orders")
    assert (after.status, after.lease_owner, after.run_generation) == (
        "succeeded", None, claim.generation)  # the claim bumped it already
    # A claim that no longer holds (taken over after it expired) is refused.
    late = store.claim("items", owner="batch", lease_seconds=1, now=T0)
    store.claim("items", owner="worker-2", lease_seconds=60, now=T0 + timedelta(seconds=5))
    assert store.settle_unchanged([_unchanged(late.table, "r2", late)],
                                  now=T0 + timedelta(seconds=6)) == []
    assert store.get_table("items").lease_owner == "worker-2"


def test_a_running_table_without_a_claim_is_never_settled(
    store: ControlStoreProtocol,
) -> None:
    claim = store.claim("orders", owner="worker-2", lease_seconds=60, now=T0)
    assert store.settle_unchanged([_unchanged(claim.table, "r1")], now=T0) == []
    assert store.get_table("orders").lease_owner == "worker-2"



"""Stuck detection: long-queued and long-running tables fail as ``stalled`` and are retried."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from dataloader_sdk import orchestration as orch
from dataloader_sdk.control import ControlStore
from dataloader_sdk.errors import ConfigError, LeaseError
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.model import RunRecord, utcnow
from tests.orchestration.conftest import add_raw_source, table


def test_long_queued_table_fails_as_stalled(
    store: ControlStore, raw: Callable[..., list[Any]]
) -> None:
    add_raw_source(store)
    store.add_table(table("a"), actor="t")
    store.add_table(table("b", interval=None), actor="t")  # never queued: never stuck
    now = utcnow()
    orch.enqueue_due(store, now=now)
    assert orch.find_long_queued(store, now=now + timedelta(minutes=29),
                                 older_than=timedelta(minutes=30)) == []
    assert store.get_table("a").status == "queued"
    later = now + timedelta(minutes=31)
    (stuck,) = orch.find_long_queued(store, now=later, older_than=timedelta(minutes=30))
    assert (stuck.name, stuck.was) == ("a", "queued")
    assert stuck.stuck_for_seconds == pytest.approx(31 * 60, abs=5)
    assert "never started" in stuck.reason
    record = store.get_table("a")
    assert (record.status, record.retry_count) == ("failed", 1)
    # Where the retry analysis looks: a failed run with the class 'stalled', an audit row.
    runs = raw("SELECT run_id, status, error_class FROM historical_metadata "
               "WHERE table_name = 'a'")
    assert [tuple(r) for r in runs] == [(stuck.run_id, "failed", "stalled")]
    audit = raw("SELECT actor, action FROM table_control_history "
                "WHERE entity_name = 'a' ORDER BY id DESC")
    assert tuple(audit[0]) == ("monitor:longqueued", "status")
    # Found once: a second pass finds nothing.
    assert orch.find_long_queued(store, now=later, older_than=timedelta(minutes=30)) == []
    with pytest.raises(ConfigError, match="older_than"):
        orch.find_long_queued(store, now=later, older_than=timedelta(0))


def test_killed_run_is_found_by_its_expired_lease_and_retried(
    loader: DataLoader, raw: Callable[..., list[Any]]
) -> None:
    store = loader.store
    loader.add_table(table("a"), actor="t")
    now = utcnow()
    (queued,) = orch.enqueue_due(store, now=now)
    # A worker claims it and records its run, then dies (what a SIGKILL leaves behind).
    claim = store.orchestration_claim("a", queued.queue_token, owner="dead-worker",
                                      lease_seconds=60, now=now)
    store.record_run(RunRecord(run_id="r-dead", table_id=claim.table.table_id, table="a",
                               strategy="full", engine="delta_rs", status="running",
                               started_at=now))
    assert orch.find_long_running(store, now=now + timedelta(seconds=59)) == []
    assert orch.find_long_running(store, now=now + timedelta(seconds=90),
                                  grace=timedelta(seconds=60)) == []
    (stuck,) = orch.find_long_running(store, now=now + timedelta(seconds=61))
    assert (stuck.name, stuck.was, stuck.lease_owner, stuck.run_id) == (
        "a", "running", "dead-worker", "r-dead")
    assert "dead-worker" in stuck.reason
    row = raw("SELECT status, error_class, finished_at FROM historical_metadata "
              "WHERE run_id = 'r-dead'")[0]
    assert (row[0], row[1]) == ("failed", "stalled")
    assert row[2] is not None
    t = store.get_table("a")
    assert (t.status, t.retry_count, t.lease_owner) == ("failed", 1, None)
    # The dead worker, if it came back, could no longer finish.
    with pytest.raises(LeaseError):
        store.finish(claim, status="succeeded", now=now + timedelta(seconds=62))
    # The retry policy applies: 'stalled' is transient, requeued after the back-off...
    (decision,) = orch.analyse_retries(store, now=now + timedelta(seconds=200))
    assert (decision.action, decision.error_class) == ("requeue", "stalled")
    assert decision.queue_token is not None
    # ...and the retried run loads everything once.
    (again,) = orch.enqueue_due(store, now=now + timedelta(seconds=201))
    assert again.queue_token == decision.queue_token
    record = orch.run_table(loader, "a", queue_token=again.queue_token)
    assert (record.status, record.rows_written) == ("succeeded", 10)
    assert sorted(loader.engine.read(claim.table.config.target)["id"].to_pylist()) == list(
        range(1, 11))


def test_running_table_with_a_live_lease_is_not_stuck(store: ControlStore) -> None:
    add_raw_source(store)
    store.add_table(table("a"), actor="t")
    now = utcnow()
    claim = store.claim("a", owner="w", lease_seconds=60, now=now)
    # The heartbeat renews the lease: still not stuck long after the first expiry.
    store.renew(claim, now=now + timedelta(seconds=50), lease_seconds=60)
    assert orch.find_long_running(store, now=now + timedelta(seconds=100)) == []
    assert store.get_table("a").status == "running"

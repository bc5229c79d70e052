"""enqueue_due, queue tokens, hand-out and launch, run_table's token check."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from dataloader_sdk import orchestration as orch
from dataloader_sdk.control import ControlStore
from dataloader_sdk.errors import ConfigError, StaleQueueTokenError
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.model import utcnow
from tests.orchestration.conftest import add_raw_source, table


def test_enqueue_due_queues_due_tables_with_tokens(store: ControlStore) -> None:
    add_raw_source(store)
    store.add_table(table("a", priority=5), actor="t")
    store.add_table(table("b", priority=1), actor="t")
    store.add_table(table("never", interval=None), actor="t")  # no schedule: never due
    store.add_table(table("off", enabled=False), actor="t")
    now = utcnow()
    queued = orch.enqueue_due(store, now=now)
    assert [q.name for q in queued] == ["b", "a"]  # priority order
    b = queued[0]
    assert (b.source, b.priority, b.target_parts) == ("src", 1, ("bronze", "b"))
    assert len(b.queue_token) == 32
    assert int(b.queue_token, 16) >= 0  # hex
    assert queued[0].queue_token != queued[1].queue_token
    assert b.run_key == f"b:{b.queue_token}"
    assert b.queued_at == now
    statuses = {t.name: t.status for t in store.list_tables()}
    assert statuses == {"a": "queued", "b": "queued", "never": "idle", "off": "idle"}


def test_limit_bounds_a_tick(store: ControlStore) -> None:
    add_raw_source(store)
    for i in range(5):
        store.add_table(table(f"t{i}", priority=i), actor="t")
    now = utcnow()
    first = orch.enqueue_due(store, now=now, limit=2)
    assert [q.name for q in first] == ["t0", "t1"]
    second = orch.enqueue_due(store, now=now, limit=2)
    assert [q.name for q in second] == ["t2", "t3"]
    with pytest.raises(ConfigError, match="limit"):
        orch.enqueue_due(store, now=now, limit=0)


def test_crashed_tick_is_re_emitted_after_the_hand_out(store: ControlStore) -> None:
    add_raw_source(store)
    store.add_table(table("a"), actor="t")
    now = utcnow()
    (first,) = orch.enqueue_due(store, now=now)
    # The tick 'crashed': it never reported the launch. A concurrent tick gets nothing...
    assert orch.enqueue_due(store, now=now + timedelta(seconds=30)) == []
    # ...and once the hand-out expired the same enqueue comes back with the same run key.
    (again,) = orch.enqueue_due(store, now=now + timedelta(seconds=61))
    assert again.run_key == first.run_key
    assert orch.mark_launched(store, "a", again.queue_token, now=now + timedelta(seconds=62))
    assert orch.enqueue_due(store, now=now + timedelta(hours=1)) == []


def test_mark_launched_refuses_a_stale_token(store: ControlStore) -> None:
    add_raw_source(store)
    store.add_table(table("a"), actor="t")
    store.add_table(table("b"), actor="t")
    now = utcnow()
    queued = orch.enqueue_due(store, now=now)
    assert not orch.mark_launched(store, "a", "0" * 32, now=now)
    assert not orch.mark_launched(store, "a", queued[1].queue_token, now=now)  # b's token
    assert orch.mark_many_launched(store, queued, now=now) == 2
    assert orch.enqueue_due(store, now=now + timedelta(hours=1)) == []


def test_token_changes_on_every_enqueue_and_stale_tokens_refuse(
    loader: DataLoader, raw: Callable[..., list[Any]]
) -> None:
    store = loader.store
    loader.add_table(table("a"), actor="t")
    (first,) = orch.enqueue_due(store, now=utcnow())
    record = orch.run_table(loader, "a", queue_token=first.queue_token,
                            orchestrator_run_id="dagster-run-1")
    assert record.status == "succeeded"
    assert record.rows_written == 10
    rows = raw("SELECT orchestrator_run_id, status FROM historical_metadata "
               "WHERE table_name = 'a'")
    assert [tuple(r) for r in rows] == [("dagster-run-1", "succeeded")]
    # Already run for that token: refused, nothing recorded or changed.
    with pytest.raises(StaleQueueTokenError, match="already claimed"):
        orch.run_table(loader, "a", queue_token=first.queue_token)
    assert store.get_table("a").status == "succeeded"
    # Due again: a new token (so a new run key), which runs; the old one still refuses.
    (second,) = orch.enqueue_due(store, now=utcnow() + timedelta(seconds=61))
    assert second.queue_token != first.queue_token
    assert second.run_key != first.run_key
    with pytest.raises(StaleQueueTokenError, match="enqueued again"):
        orch.run_table(loader, "a", queue_token=first.queue_token)
    assert store.get_table("a").status == "queued"
    assert orch.run_table(loader, "a", queue_token=second.queue_token).status == "succeeded"
    assert len(raw("SELECT run_id FROM historical_metadata WHERE table_name = 'a'")) == 2


def test_table_queued_by_another_path_gets_a_new_token(
    loader: DataLoader,
) -> None:
    store = loader.store
    loader.add_table(table("a"), actor="t")
    now = utcnow()
    (first,) = orch.enqueue_due(store, now=now)
    # A manual run claims it outside the adapter: the token is spent.
    loader.load_table("a")
    store.set_status("a", "queued", actor="ops", reason="run it again")
    (second,) = orch.enqueue_due(store, now=utcnow())
    assert second.queue_token != first.queue_token
    with pytest.raises(StaleQueueTokenError):
        orch.run_table(loader, "a", queue_token=first.queue_token)
    assert orch.run_table(loader, "a", queue_token=second.queue_token).status == "succeeded"


def test_run_table_without_token_is_a_manual_run(loader: DataLoader,
                                                 raw: Callable[..., list[Any]]) -> None:
    loader.add_table(table("b", interval=None), actor="t")
    record = orch.run_table(loader, "b", orchestrator_run_id="airflow-42")
    assert (record.status, record.rows_written) == ("succeeded", 10)
    assert raw("SELECT orchestrator_run_id FROM historical_metadata")[0][0] == "airflow-42"
    with pytest.raises(ConfigError, match="orchestrator_run_id"):
        orch.run_table(loader, "b", orchestrator_run_id="")

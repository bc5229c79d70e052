"""Retry analysis: each error class, attempts, exponential back-off with a cap."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dataloader_sdk import orchestration as orch
from dataloader_sdk.control import ControlStore
from dataloader_sdk.errors import SourcePermanentError
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.model import RunRecord, utcnow
from dataloader_sdk.orchestration.retries import Backoff, decide
from tests.orchestration.conftest import add_raw_source, table

TRANSIENT = ["SourceTransientError", "EmptyReadRefusedError", "LeaseError", "stalled", None]
PERMANENT = ["SourcePermanentError", "SourceError", "ConfigError", "ValidationError",
             "UnknownNameError", "SecretError", "DestinationError", "StaleVersionError",
             "InvalidTransitionError", "NotAnErrorWeKnow"]


def _fail(store: ControlStore, name: str, error_class: str | None, at: datetime,
          run_id: str) -> None:
    """Put ``name`` through one failed run recorded with ``error_class``."""
    claim = store.claim(name, owner="w", lease_seconds=60, now=at)
    store.record_run(RunRecord(
        run_id=run_id, table_id=claim.table.table_id, table=name, strategy="full",
        engine="delta_rs", status="failed", started_at=at, finished_at=at,
        error_class=error_class, error_message=f"boom ({error_class})"))
    store.finish(claim, status="failed", now=at, permanent=False)


@pytest.mark.parametrize("error_class", TRANSIENT + PERMANENT)
def test_decision_per_error_class(
    store: ControlStore, raw: Callable[..., list[Any]], error_class: str | None
) -> None:
    add_raw_source(store)
    store.add_table(table("a"), actor="t")
    at = utcnow()
    _fail(store, "a", error_class, at, "r1")
    (failed,) = orch.find_failed(store)
    assert (failed.name, failed.attempts, failed.error_class, failed.run_id) == (
        "a", 1, error_class, "r1")
    (d,) = orch.analyse_retries(store, now=at + timedelta(seconds=60))
    transient = error_class in TRANSIENT
    assert d.transient is transient
    assert d.error_class == error_class
    if transient:
        assert d.action == "requeue"
        assert store.get_table("a").status == "queued"
        (q,) = orch.enqueue_due(store, now=at + timedelta(seconds=61))
        assert q.queue_token == d.queue_token
    else:
        assert d.action == "needs_attention"
        assert "permanent" in d.reason
        assert store.get_table("a").status == "needs_attention"
    # The reason is recorded in the audit log and on the failed run.
    after = raw("SELECT actor FROM table_control_history WHERE entity_name = 'a' "
                "ORDER BY id DESC")[0]
    assert after[0] == "retry-analysis"
    note = raw("SELECT note FROM historical_metadata WHERE run_id = 'r1'")[0][0]
    assert note.endswith(f"retry analysis: {d.reason}")


def test_backoff_is_exponential_and_capped() -> None:
    b = Backoff(base_seconds=60, max_seconds=300, max_retries=10)
    assert [b.delay(n).total_seconds() for n in range(1, 7)] == [60, 120, 240, 300, 300, 300]
    assert b.delay(10_000).total_seconds() == 300


def test_waits_for_the_backoff_then_requeues_then_gives_up(
    store: ControlStore, raw: Callable[..., list[Any]]
) -> None:
    add_raw_source(store)
    store.add_table(table("a"), actor="t")
    backoff = Backoff(base_seconds=10, max_seconds=1000, max_retries=2)
    t = utcnow()
    for attempt, delay in ((1, 10), (2, 20)):
        _fail(store, "a", "SourceTransientError", t, f"r{attempt}")
        (d,) = orch.analyse_retries(store, now=t + timedelta(seconds=delay - 1),
                                    backoff=backoff)
        assert (d.action, d.attempts) == ("wait", attempt)
        assert d.retry_at == t + timedelta(seconds=delay)
        # The wait is written to next_run_at, so `dataloader run --due` honours it too.
        assert store.get_table("a").next_run_at == d.retry_at
        (d,) = orch.analyse_retries(store, now=t + timedelta(seconds=delay), backoff=backoff)
        assert d.action == "requeue"
        t += timedelta(seconds=delay + 1)
    _fail(store, "a", "SourceTransientError", t, "r3")
    (d,) = orch.analyse_retries(store, now=t + timedelta(hours=1), backoff=backoff)
    assert (d.action, d.attempts) == ("needs_attention", 3)
    assert "retries exhausted" in d.reason
    assert orch.find_failed(store) == []
    assert orch.analyse_retries(store, now=t + timedelta(hours=2)) == []


def test_decide_is_pure() -> None:
    failed = orch.FailedTable("x", attempts=2, error_class="SourceTransientError",
                              error_message=None, failed_at=datetime.fromisoformat(
                                  "2024-01-01T00:00:00+00:00"))
    b = Backoff(base_seconds=60, max_seconds=3600, max_retries=3)
    assert decide(failed, b, failed.failed_at + timedelta(seconds=119)).action == "wait"
    assert decide(failed, b, failed.failed_at + timedelta(seconds=120)).action == "requeue"


def test_real_permanent_failure_needs_attention_and_ack(
    loader: DataLoader, source_db: Path
) -> None:
    loader.add_table(table("a"), actor="t")
    with sqlite3.connect(source_db) as conn:
        conn.execute("DROP TABLE a")
    (q,) = orch.enqueue_due(loader.store, now=utcnow())
    with pytest.raises(SourcePermanentError):
        orch.run_table(loader, "a", queue_token=q.queue_token)
    # The runner already moved it; the analysis has nothing left to retry.
    assert loader.store.get_table("a").status == "needs_attention"
    assert orch.analyse_retries(loader.store, now=utcnow()) == []

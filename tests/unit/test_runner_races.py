"""Races the runner must survive: a step committed by someone else, a lost lease."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from dataloader_sdk.config import Settings
from dataloader_sdk.engines.base import Engine, WriteOutcome
from dataloader_sdk.errors import LeaseError, SourceTransientError
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.model import (
    CommitInfo,
    SourceConfig,
    TableConfig,
    TableState,
    TargetName,
    Watermark,
    WriteMode,
    utcnow,
)
from dataloader_sdk.plugins import PluginHost
from dataloader_sdk.runner import LeaseHeartbeat
from dataloader_sdk.testing import FaultyEngine

TARGET = TargetName("bronze", "events")


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "src.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, v TEXT)")
        conn.executemany("INSERT INTO events VALUES (?, ?)", [(i, f"v{i}") for i in range(1, 11)])
    return path


@pytest.fixture
def loader(tmp_path: Path, source: Path) -> Iterator[DataLoader]:
    dl = DataLoader.from_settings(Settings.default(tmp_path / "p"), host=PluginHost())
    dl.add_source(SourceConfig(name="s", db_type="sqlalchemy",
                               options={"url": f"sqlite:///{source}"}), actor="t")
    dl.add_table(TableConfig(name="events", source="s", source_table="events", target=TARGET,
                             strategy="append_only",
                             strategy_options={"watermark_column": "id"}), actor="t")
    yield dl
    dl.close()


class RacingEngine(FaultyEngine):
    """Before our write, a 'concurrent worker' commits the same step version (ids 1-3)."""

    def write(self, target: TargetName, data: pa.RecordBatchReader, mode: WriteMode,
              commit: CommitInfo) -> WriteOutcome:
        theirs = data.read_all().slice(0, 3)
        rival = CommitInfo(commit.app_id, commit.txn_version, "rival-run", commit.table_id,
                           commit.table, commit.strategy,
                           TableState(Watermark("int", 3), commit.txn_version))
        self.inner.write(target, pa.RecordBatchReader.from_batches(
            theirs.schema, theirs.to_batches()), mode, rival)
        ours = data.schema.empty_table() if theirs.num_rows == 0 else theirs
        return self.inner.write(target, pa.RecordBatchReader.from_batches(
            ours.schema, ours.to_batches()), mode, commit)


def test_a_step_committed_by_another_run_is_not_applied_twice(
    loader: DataLoader, tmp_path: Path
) -> None:
    inner: Engine = loader.engine
    racing = DataLoader(loader.store, RacingEngine(inner), host=loader.host)
    run = racing.load_table("events")
    assert run.status == "succeeded"
    assert "already committed by another run" in run.note
    # The rival's commit (ids 1-3, watermark 3) stands; ours was a replay.
    assert loader.store.get_table("events").state.watermark == Watermark("int", 3)
    assert sorted(inner.read(TARGET)["id"].to_pylist()) == [1, 2, 3]
    # The next run continues from the rival's watermark: nothing lost, nothing doubled.
    assert loader.load_table("events").rows_written == 7
    assert sorted(inner.read(TARGET)["id"].to_pylist()) == list(range(1, 11))


def test_store_renews_a_held_lease_and_refuses_a_lost_one(loader: DataLoader) -> None:
    now = utcnow()
    claim = loader.store.claim("events", owner="w1", lease_seconds=60, now=now)
    renewed = loader.store.renew(claim, now=now + timedelta(seconds=50), lease_seconds=60)
    assert renewed.expires_at == now + timedelta(seconds=110)
    assert loader.store.get_table("events").lease_expires_at == renewed.expires_at
    # Lease expires, another worker takes over: the first one's renewal is refused.
    loader.store.claim("events", owner="w2", lease_seconds=60, now=now + timedelta(hours=1))
    with pytest.raises(LeaseError, match="w2"):
        loader.store.renew(renewed, now=now + timedelta(hours=1), lease_seconds=60)


def test_heartbeat_reports_a_lost_lease_at_the_next_check(loader: DataLoader) -> None:
    now = utcnow()
    claim = loader.store.claim("events", owner="w1", lease_seconds=60, now=now)
    beat = LeaseHeartbeat(loader.store, claim, lambda: now + timedelta(seconds=30), 60)
    beat.beat()
    beat.check()  # still ours
    assert loader.store.get_table("events").lease_expires_at == now + timedelta(seconds=90)
    loader.store.claim("events", owner="w2", lease_seconds=60, now=now + timedelta(hours=1))
    beat.beat()
    with pytest.raises(LeaseError):
        beat.check()


class DroppingEngine(FaultyEngine):
    """The source connection drops after the first batch, while delta-rs pulls."""

    def write(self, target: TargetName, data: pa.RecordBatchReader, mode: WriteMode,
              commit: CommitInfo) -> WriteOutcome:
        def batches() -> Iterator[pa.RecordBatch]:
            yield data.read_next_batch()
            raise SourceTransientError("table 'events': the server closed the connection")

        return self.inner.write(
            target, pa.RecordBatchReader.from_batches(data.schema, batches()), mode, commit
        )


def test_a_source_dropping_mid_read_fails_as_transient_and_is_retried(
    loader: DataLoader,
) -> None:
    inner: Engine = loader.engine
    dropping = DataLoader(loader.store, DroppingEngine(inner), host=loader.host)
    with pytest.raises(SourceTransientError, match="server closed the connection"):
        dropping.load_table("events")
    run = loader.store.runs("events", limit=1)[0]
    assert run.status == "failed"
    assert run.error_class == "SourceTransientError"
    assert "server closed the connection" in (run.error_message or "")
    # Retryable: the table waits for its retry instead of needing attention.
    assert loader.store.get_table("events").status == "failed"
    assert not inner.exists(TARGET)
    assert loader.load_table("events").rows_written == 10

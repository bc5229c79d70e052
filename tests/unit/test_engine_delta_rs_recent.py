"""``newest_commit`` reuses its answer while a local table's Delta log stands still
(``engines/delta_rs/recent.py``), and never past a commit, a drop or a re-creation."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from dataloader_sdk.engines.base import EngineSettings, MaintenanceTask
from dataloader_sdk.engines.delta_rs import DeltaRsEngine, DeltaRsEngineFactory
from dataloader_sdk.engines.delta_rs.recent import RecentCommits, local_log
from dataloader_sdk.model import Append, CommitInfo, TableState, TargetName

TARGET = TargetName("bronze", "orders")


class CountingEngine(DeltaRsEngine):
    """The real engine, counting how often it opens the table."""

    loads = 0

    def _load(self, target: TargetName) -> DeltaTable | None:
        self.loads += 1
        return super()._load(target)


def _engine(root: Path) -> CountingEngine:
    return CountingEngine(EngineSettings(root=str(root)))


def _commit(version: int, app_id: str) -> CommitInfo:
    return CommitInfo(app_id=app_id, txn_version=version, run_id=f"{app_id}-{version}",
                      table_id=7, table="orders", strategy="append",
                      state_after=TableState(txn_version=version))


def _append(engine: DeltaRsEngine, version: int, app_id: str = "dataloader_sdk:7") -> None:
    table = pa.table({"id": [version]})
    engine.write(TARGET, pa.RecordBatchReader.from_batches(table.schema, table.to_batches()),
                 Append(), _commit(version, app_id))


def test_an_unmoved_log_is_answered_without_opening_the_table(delta_root: Path) -> None:
    engine = _engine(delta_root)
    assert engine.newest_commit(TARGET) is None  # no table yet: nothing is kept
    _append(engine, 1)
    _append(engine, 2)
    loads = engine.loads
    # The write kept its own commit: the next run's check opens no table, and answers
    # what reading the history answers (a fresh engine, nothing kept).
    fresh = _engine(delta_root).newest_commit(TARGET)
    assert fresh is not None and fresh.txn_version == 2
    for _ in range(3):
        assert engine.newest_commit(TARGET) == fresh
    assert engine.loads == loads
    other = _engine(delta_root)
    assert other.newest_commit(TARGET) == fresh and other.loads == 1
    assert other.newest_commit(TARGET) == fresh and other.loads == 1


def test_the_write_that_creates_the_table_keeps_its_commit(delta_root: Path) -> None:
    """A batch's first load creates its tables: the next run's check opens none of them."""
    engine = _engine(delta_root)
    _append(engine, 1)  # creates the table: version 0
    assert DeltaTable(engine.uri(TARGET)).version() == 0
    loads = engine.loads
    newest = engine.newest_commit(TARGET)
    assert newest is not None and newest.txn_version == 1
    assert engine.loads == loads
    assert _engine(delta_root).newest_commit(TARGET) == newest  # what the history says


def test_any_new_commit_ends_the_reuse(delta_root: Path) -> None:
    engine, other = _engine(delta_root), DeltaRsEngineFactory().open(
        EngineSettings(root=str(delta_root)))
    _append(engine, 1)
    assert engine.newest_commit(TARGET).txn_version == 1  # type: ignore[union-attr]
    _append(other, 2, app_id="dataloader_sdk:8")  # another worker (or process) commits
    newest = engine.newest_commit(TARGET)
    assert newest is not None and (newest.app_id, newest.txn_version) == ("dataloader_sdk:8", 2)
    # A commit without dataloader metadata (a compaction) moves the log too; the answer
    # is read again and is still the newest dataloader commit.
    for version in range(3, 6):
        _append(other, version, app_id="dataloader_sdk:8")
    loads = engine.loads
    other.maintain(TARGET, MaintenanceTask(compact=True))
    assert DeltaTable(engine.uri(TARGET)).history(1)[0]["operation"] == "OPTIMIZE"
    assert engine.newest_commit(TARGET).txn_version == 5  # type: ignore[union-attr]
    assert engine.loads == loads + 1


def test_a_table_dropped_and_written_again_to_the_same_version_is_read_again(
    delta_root: Path,
) -> None:
    engine, other = _engine(delta_root), _engine(delta_root)
    _append(engine, 1)
    _append(engine, 2)
    assert engine.newest_commit(TARGET).app_id == "dataloader_sdk:7"  # type: ignore[union-attr]
    # Another process drops the table and writes two versions again (0 and 1, as before).
    assert other.drop(TARGET)
    _append(other, 1, app_id="dataloader_sdk:9")
    _append(other, 2, app_id="dataloader_sdk:9")
    assert engine.newest_commit(TARGET).app_id == "dataloader_sdk:9"  # type: ignore[union-attr]


def test_a_table_written_by_a_plain_writer_is_seen(delta_root: Path) -> None:
    engine = _engine(delta_root)
    _append(engine, 1)
    assert engine.newest_commit(TARGET) is not None
    write_deltalake(engine.uri(TARGET), pa.table({"id": [9]}), mode="overwrite",
                    commit_properties=None)
    assert engine.newest_commit(TARGET).txn_version == 1  # type: ignore[union-attr]
    assert len(DeltaTable(engine.uri(TARGET)).history()) == 2


def test_only_local_tables_are_kept(tmp_path: Path) -> None:
    assert local_log(str(tmp_path)) == tmp_path / "_delta_log"
    assert local_log(f"file://{tmp_path}") == tmp_path / "_delta_log"
    for uri in ("s3://bucket/t", "abfss://c@acct.dfs.core.windows.net/t", "memory:///t"):
        assert local_log(uri) is None
        recent = RecentCommits()
        recent.keep(uri, 3, None)
        assert recent.lookup(uri) == (False, None)


@pytest.mark.parametrize("limit", [1, 2])
def test_at_most_limit_tables_are_kept(delta_root: Path, limit: int) -> None:
    engine = _engine(delta_root)
    targets = [TargetName("bronze", f"t{i}") for i in range(3)]
    recent = RecentCommits(limit=limit)
    for target in targets:
        table = pa.table({"id": [1]})
        write_deltalake(engine.uri(target), table)
        recent.keep(engine.uri(target), 0, None)
    kept = [recent.lookup(engine.uri(t))[0] for t in targets]
    assert kept == [False] * (3 - limit) + [True] * limit


def test_a_write_reuses_the_last_writes_table_and_sees_other_commits(delta_root: Path) -> None:
    engine, other = _engine(delta_root), _engine(delta_root)
    _append(engine, 1)
    loads = engine.loads
    _append(engine, 2)
    _append(engine, 3)
    assert engine.loads == loads  # each write brought the kept table up to date
    # Another writer commits: the kept table catches up and the replay check sees it.
    _append(other, 4, app_id="dataloader_sdk:8")
    _append(engine, 4)
    assert engine.loads == loads
    assert sorted(DeltaTable(engine.uri(TARGET)).to_pyarrow_table()["id"].to_pylist()) == \
        [1, 2, 3, 4, 4]
    again = engine.write(TARGET, pa.RecordBatchReader.from_batches(
        pa.schema([("id", pa.int64())]), []), Append(), _commit(4, "dataloader_sdk:7"))
    assert again.replayed


def test_a_table_dropped_and_created_again_is_loaded_afresh_for_a_write(
    delta_root: Path,
) -> None:
    engine, other = _engine(delta_root), _engine(delta_root)
    _append(engine, 1)
    _append(engine, 2)
    assert other.drop(TARGET)
    _append(other, 1, app_id="dataloader_sdk:9")
    _append(other, 2, app_id="dataloader_sdk:9")  # the same versions, another log
    loads = engine.loads
    _append(engine, 3)
    assert engine.loads == loads + 1  # the kept table was refused, the table loaded
    table = DeltaTable(engine.uri(TARGET))
    assert table.transaction_version("dataloader_sdk:9") == 2
    assert table.transaction_version("dataloader_sdk:7") == 3
    assert sorted(table.to_pyarrow_table()["id"].to_pylist()) == [1, 2, 3]

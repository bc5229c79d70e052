"""What the delta-rs engine does per write to its ``_delta_log/`` (issue #11's long run):
a write through the kept handle advances it (so the engine does not update it again),
an unmoved log is not re-listed, and delta-rs's expired-log cleanup runs with the
checkpoint commit only, not after every commit."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from dataloader_sdk.engines.base import EngineSettings
from dataloader_sdk.engines.delta_rs import DeltaRsEngine
from dataloader_sdk.engines.delta_rs.writes import post_commit_hooks
from dataloader_sdk.model import (
    Append,
    Column,
    CommitInfo,
    Compare,
    Merge,
    Overwrite,
    ReplaceWhere,
    TableState,
    TargetName,
    WriteMode,
)

TARGET = TargetName("bronze", "orders")
APP = "dataloader_sdk:7"


def _commit(version: int) -> CommitInfo:
    return CommitInfo(app_id=APP, txn_version=version, run_id=f"run-{version}", table_id=7,
                      table="orders", strategy="append",
                      state_after=TableState(txn_version=version))


def _write(engine: DeltaRsEngine, version: int, ids: list[int], mode: WriteMode) -> int | None:
    table = pa.table({"id": pa.array(ids, pa.int64()), "v": [f"v{version}"] * len(ids)})
    outcome = engine.write(
        TARGET, pa.RecordBatchReader.from_batches(table.schema, table.to_batches()), mode,
        _commit(version))
    return outcome.delta_version


def _log_versions(engine: DeltaRsEngine) -> list[int]:
    log = Path(engine.uri(TARGET)) / "_delta_log"
    return sorted(int(p.name.split(".")[0]) for p in log.glob("*.json"))


@pytest.mark.parametrize("mode", [
    Append(),
    ReplaceWhere((Compare(Column("id"), "=", 1),)),
    Overwrite(),
    Merge(keys=("id",)),
], ids=["append", "replace_where", "overwrite", "merge"])
def test_every_write_reports_and_keeps_the_version_it_committed(
    delta_root: Path, mode: WriteMode,
) -> None:
    engine = DeltaRsEngine(EngineSettings(root=str(delta_root)))
    assert _write(engine, 1, [1, 2], Append()) == 0
    for version in (2, 3):
        reported = _write(engine, version, [1], mode)
        fresh = DeltaTable(engine.uri(TARGET))
        # The version the engine reports (and keeps the handle and its commit at) is the
        # table's, without the engine updating the handle after the write.
        assert reported == fresh.version() == version - 1
        assert fresh.transaction_version(APP) == version
        newest = engine.newest_commit(TARGET)
        assert newest is not None and newest.txn_version == version
    # The kept handle serves the replay check: the same step again is a no-op.
    again = engine.write(TARGET, pa.RecordBatchReader.from_batches(
        pa.schema([("id", pa.int64()), ("v", pa.string())]), []), mode, _commit(3))
    assert again.replayed and DeltaTable(engine.uri(TARGET)).version() == 2


def test_deltalake_advances_the_handle_a_write_goes_through(tmp_path: Path) -> None:
    """The delta-rs behaviour the engine relies on to skip ``update_incremental``."""
    rows = pa.table({"id": pa.array([1, 2], pa.int64())})
    write_deltalake(tmp_path, rows)
    handle = DeltaTable(tmp_path)
    write_deltalake(handle, rows, mode="append")
    assert handle.version() == DeltaTable(tmp_path).version() == 1
    write_deltalake(handle, rows.slice(0, 1), mode="overwrite", predicate="id = 1")
    assert handle.version() == DeltaTable(tmp_path).version() == 2
    new = pa.table({"id": pa.array([3], pa.int64())})
    (handle.merge(new, predicate="t.id = s.id", source_alias="s", target_alias="t")
     .when_not_matched_insert_all().execute())
    assert handle.version() == DeltaTable(tmp_path).version() == 3
    assert sorted(handle.file_uris()) == sorted(DeltaTable(tmp_path).file_uris())


def test_a_commit_by_another_writer_is_seen_by_the_next_write(delta_root: Path) -> None:
    engine = DeltaRsEngine(EngineSettings(root=str(delta_root)))
    _write(engine, 1, [1], Append())
    _write(engine, 2, [2], Append())
    # Another writer (not through the engine) commits: the kept handle must catch up, or
    # the engine's next write would report a stale version and miss that commit's rows.
    write_deltalake(engine.uri(TARGET), pa.table({"id": pa.array([9], pa.int64()),
                                                   "v": ["other"]}), mode="append")
    assert _write(engine, 3, [3], Append()) == 3
    table = DeltaTable(engine.uri(TARGET))
    assert sorted(table.to_pyarrow_table()["id"].to_pylist()) == [1, 2, 3, 9]
    files = engine.table_files(TARGET, 1 << 20)  # through the kept handle
    assert files is not None and files.version == 3 and files.files == 4


def test_table_files_through_the_handle_equals_a_fresh_load(delta_root: Path) -> None:
    engine = DeltaRsEngine(EngineSettings(root=str(delta_root)))
    assert engine.table_files(TARGET, 1 << 20) is None
    for version in range(1, 4):
        _write(engine, version, [version], Append())
    kept = engine.table_files(TARGET, 1 << 20)
    fresh = DeltaRsEngine(EngineSettings(root=str(delta_root))).table_files(TARGET, 1 << 20)
    assert kept is not None and kept == fresh and kept.files == 3


def test_expired_logs_are_cleaned_with_the_checkpoint_commit_only(delta_root: Path) -> None:
    engine = DeltaRsEngine(EngineSettings(root=str(delta_root)))
    rows = pa.table({"id": pa.array([0], pa.int64()), "v": ["v0"]})
    # Every log file expires at once, and delta-rs checkpoints the commits whose version
    # + 1 is a multiple of 5 (4, 9, ...).
    write_deltalake(engine.uri(TARGET), rows, configuration={
        "delta.checkpointInterval": "5", "delta.logRetentionDuration": "interval 0 seconds"})
    _write(engine, 1, [1], Append())
    _write(engine, 2, [2], Append())
    # A checkpoint by someone else (maintenance) at version 2, without a cleanup: with
    # delta-rs's default hooks the next commit would delete the logs before it.
    DeltaTable(engine.uri(TARGET)).create_checkpoint()
    _write(engine, 3, [3], Append())
    assert _log_versions(engine) == [0, 1, 2, 3]  # no cleanup after a plain commit
    _write(engine, 4, [4], Append())  # version 4: delta-rs's checkpoint, then the cleanup
    assert _log_versions(engine) == [4]
    for version in range(5, 9):
        _write(engine, version, [version], Append())
    assert _log_versions(engine) == [4, 5, 6, 7, 8]
    _write(engine, 9, [9], Append())
    assert _log_versions(engine) == [9]
    table = DeltaTable(engine.uri(TARGET))
    assert table.transaction_version(APP) == 9
    assert sorted(table.to_pyarrow_table()["id"].to_pylist()) == list(range(10))
    _write(engine, 10, [10], Append())  # the kept handle still writes after the cleanup
    assert DeltaTable(engine.uri(TARGET)).version() == 10


def test_a_new_table_gets_delta_rs_default_hooks(tmp_path: Path) -> None:
    hooks = post_commit_hooks(None)
    assert hooks.create_checkpoint is True and hooks.cleanup_expired_logs is None
    write_deltalake(tmp_path, pa.table({"id": pa.array([1], pa.int64())}))
    table = DeltaTable(tmp_path)  # version 0, interval 100: its next commit is version 1
    assert post_commit_hooks(table).cleanup_expired_logs is False

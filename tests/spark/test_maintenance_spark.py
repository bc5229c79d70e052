"""Maintenance on the Spark engine: OPTIMIZE, VACUUM and a forced log checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from dataloader_sdk.engines.base import Maintainable, MaintenanceTask
from dataloader_sdk.engines.spark import SparkEngine
from dataloader_sdk.model import Append, TargetName
from tests.spark._helpers import APP, commit, reader

pytestmark = pytest.mark.spark

T = TargetName("bronze", "events")


def test_optimize_and_vacuum_keep_rows_and_the_load_commit(spark_engine: SparkEngine) -> None:
    assert isinstance(spark_engine, Maintainable)
    for version in range(1, 5):
        rows = pa.table({"id": pa.array([version * 10 + i for i in range(3)], pa.int64())})
        spark_engine.write(T, reader(rows), Append(), commit(version))
    before = spark_engine.table_files(T, 8 << 20)
    assert before is not None and before.files >= 4 and before.small_files == before.files
    newest = spark_engine.newest_commit(T)
    outcome = spark_engine.maintain(T, MaintenanceTask(
        compact=True, vacuum=True, retention_hours=0, enforce_retention=False))
    assert outcome.files_removed == before.files and outcome.files_added == 1
    after = spark_engine.table_files(T, 8 << 20)
    assert after is not None and after.files == 1 and after.version > before.version
    assert spark_engine.newest_commit(T) == newest  # OPTIMIZE/VACUUM hide no load commit
    assert spark_engine.recorded_version(T, APP) == 4
    assert sorted(spark_engine.read(T)["id"].to_pylist()) == sorted(
        v * 10 + i for v in range(1, 5) for i in range(3))
    # The session's retention check is back on after the short-retention override.
    assert spark_engine.spark.conf.get(
        "spark.databricks.delta.retentionDurationCheck.enabled") != "false"


def test_a_due_checkpoint_is_forced_at_the_current_version(spark_engine: SparkEngine) -> None:
    for version in range(1, 4):
        rows = pa.table({"id": pa.array([version], pa.int64())})
        spark_engine.write(T, reader(rows), Append(), commit(version))
    files = spark_engine.table_files(T, 8 << 20)
    assert files is not None and files.version == 2  # below delta.checkpointInterval (10)
    log_dir = Path(spark_engine.location(T)) / "_delta_log"
    assert not list(log_dir.glob("*.checkpoint.parquet"))
    outcome = spark_engine.maintain(T, MaintenanceTask(checkpoint=True))
    assert outcome.checkpointed and outcome.checkpoint_version == files.version
    assert (log_dir / f"{files.version:020d}.checkpoint.parquet").exists()
    last = json.loads((log_dir / "_last_checkpoint").read_text())
    assert last["version"] == files.version
    assert spark_engine.recorded_version(T, APP) == 3
    assert sorted(spark_engine.read(T)["id"].to_pylist()) == [1, 2, 3]
    # A dry run forces nothing.
    assert not spark_engine.maintain(T, MaintenanceTask(checkpoint=True, dry_run=True)).checkpointed


def test_clustering_is_zorder_keeps_rows_and_the_load_commit(spark_engine: SparkEngine) -> None:
    for version in range(1, 5):  # each write interleaves ids: the files' ranges overlap
        rows = pa.table({"id": pa.array([i * 4 + version for i in range(50)], pa.int64())})
        spark_engine.write(T, reader(rows), Append(), commit(version))
    before = spark_engine.table_files(T, 8 << 20)
    assert before is not None and before.files >= 4
    newest = spark_engine.newest_commit(T)
    outcome = spark_engine.maintain(T, MaintenanceTask(cluster_by=("id",),
                                                       target_file_bytes=1 << 20))
    assert outcome.files_removed == before.files and outcome.files_added >= 1
    assert outcome.clustered_version is not None and outcome.clustered_version > before.version
    log = Path(spark_engine.location(T)) / "_delta_log" / f"{outcome.clustered_version:020d}.json"
    info = json.loads(log.read_text().splitlines()[0])["commitInfo"]
    assert info["operation"] == "OPTIMIZE" and "id" in info["operationParameters"]["zOrderBy"]
    assert spark_engine.newest_commit(T) == newest  # Z-ordering hides no load commit
    assert spark_engine.recorded_version(T, APP) == 4
    assert sorted(spark_engine.read(T)["id"].to_pylist()) == sorted(
        i * 4 + v for v in range(1, 5) for i in range(50))
    # The session's file size is back to what it was.
    assert spark_engine.spark.conf.get("spark.databricks.delta.optimize.maxFileSize",
                                       None) is None

"""Maintenance on the Spark engine: OPTIMIZE and VACUUM through delta-spark (one test)."""

from __future__ import annotations

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

"""What the Spark engine records in and reads back from a table's Delta log: the app
transaction read from the snapshot (never a history scan), the row count in the commit
metadata, the target file size of new tables, and the streamed first Merge."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from deltalake import DeltaTable as RsTable

from dataloader_sdk.engines.common.sizes import TARGET_FILE_SIZE
from dataloader_sdk.engines.spark import SparkEngine, history
from dataloader_sdk.model import (
    Append,
    Column,
    Compare,
    Merge,
    Overwrite,
    ReplaceWhere,
    TargetName,
)
from tests.spark._helpers import APP, commit, reader, typed_rows

pytestmark = pytest.mark.spark

T = TargetName("bronze", "orders")


def rows(ids: list[int], seq: list[int] | None = None) -> pa.Table:
    return pa.table({"id": pa.array(ids, pa.int64()),
                     "seq": pa.array(seq or [1] * len(ids), pa.int64())})


def no_history_scan(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Fails the test if anything scans the whole history; records the limited reads."""
    from delta.tables import DeltaTable

    calls: list[Any] = []
    original = DeltaTable.history

    def limited(self: DeltaTable, limit: int | None = None) -> Any:
        assert limit is not None, "the whole Delta history was scanned"
        calls.append(limit)
        return original(self, limit)

    monkeypatch.setattr(DeltaTable, "history", limited)
    monkeypatch.setattr(history, "find_in_history", None)  # any call would fail
    return calls


def test_recorded_version_and_replays_read_no_history(
    spark_engine: SparkEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    spark_engine.write(T, reader(rows([1])), Append(), commit(1))
    spark_engine.write(T, reader(rows([2])), Append(), commit(2, app="other"))
    no_history_scan(monkeypatch)
    assert spark_engine.recorded_version(T, APP) == 1
    assert spark_engine.recorded_version(T, "other") == 2
    assert spark_engine.recorded_version(T, "never") is None
    assert spark_engine.write(T, reader(rows([3])), Append(), commit(1)).replayed
    assert not spark_engine.write(T, reader(rows([3])), Append(), commit(3)).replayed
    assert spark_engine.recorded_version(T, APP) == 3


def test_recorded_version_survives_checkpoint_and_log_cleanup(
    spark_engine: SparkEngine,
) -> None:
    spark_engine.write(T, reader(rows([0])), Append(), commit(4))  # version 0
    spark_engine.spark.sql(
        f"ALTER TABLE {spark_engine.table_ref(T)} SET TBLPROPERTIES "
        "('delta.checkpointInterval' = '2')"
    )  # version 1
    for step in range(1, 4):  # versions 2..4, a checkpoint at 4
        spark_engine.write(T, reader(rows([step])), Append(), commit(step, app="other"))
    log_dir = Path(spark_engine.location(T)) / "_delta_log"
    assert (log_dir / f"{4:020d}.checkpoint.parquet").exists()
    # Log cleanup after delta.logRetentionDuration removes the commits before the
    # checkpoint: the history no longer shows step 4 of APP, the snapshot still does.
    for version in range(4):
        (log_dir / f"{version:020d}.json").unlink()
    assert spark_engine.last_commit(T, APP) is None
    assert spark_engine.recorded_version(T, APP) == 4
    assert spark_engine.write(T, reader(rows([9])), Append(), commit(4)).replayed


def test_commit_rows_are_exact_or_absent(spark_engine: SparkEngine) -> None:
    """``dataloader.rows`` is the step's row count, or missing; never a wrong 0 or -1."""
    spark_engine.write(T, reader(rows([1, 2, 3])), Overwrite(), commit(1))
    assert spark_engine.last_commit(T, APP) == commit(1, rows=3)
    spark_engine.write(T, reader(rows([4, 5])), Append(), commit(2))
    assert spark_engine.last_commit(T, APP) == commit(2, rows=2)
    spark_engine.write(T, reader(rows([5, 6], [2, 2])), Merge(("id",), Column("seq")),
                       commit(3))
    assert spark_engine.last_commit(T, APP) == commit(3, rows=2)
    spark_engine.write(T, reader(rows([]).slice(0, 0)), Append(), commit(4))
    assert spark_engine.last_commit(T, APP) == commit(4, rows=0)  # truly empty
    df = spark_engine.spark.createDataFrame([(7, 1), (8, 1)], "id long, seq long")
    out = spark_engine.write_dataframe(T, df, Append(), commit(5))
    assert out.rows_written == 2
    info = spark_engine.last_commit(T, APP)
    assert info is not None and info.txn_version == 5 and info.rows is None
    meta = RsTable(spark_engine.location(T)).history(1)[0]["userMetadata"]
    assert "dataloader.rows" not in json.loads(meta)


@pytest.mark.parametrize("mode", [Overwrite(), Append(), Merge(("id",)),
                                  ReplaceWhere((Compare(Column("id"), ">=", 0),))],
                         ids=["overwrite", "append", "merge", "replace_where"])
def test_new_tables_carry_the_target_file_size(
    spark_engine: SparkEngine, mode: Overwrite | Append | Merge | ReplaceWhere
) -> None:
    out = spark_engine.write(T, reader(rows([1, 2])), mode, commit(1))
    assert (out.rows_written, out.delta_version) == (2, 0)
    # The exact key delta_rs reads (DataFrameWriter options would lower-case it).
    config = RsTable(spark_engine.location(T)).metadata().configuration
    assert config["delta.targetFileSize"] == str(TARGET_FILE_SIZE)
    assert spark_engine.last_commit(T, APP) == commit(1, rows=2)
    assert spark_engine.recorded_version(T, APP) == 1
    assert spark_engine.write(T, reader(rows([3])), mode, commit(1)).replayed


def test_first_merge_streams_through_staging_and_dedups(
    spark: object, tmp_path: Path
) -> None:
    engine = SparkEngine(spark=spark, root=str(tmp_path), inline_limit_bytes=1)  # type: ignore[arg-type]
    src = typed_rows([1, 2, 1, 3, 2], [1, 5, 3, 1, 2])
    out = engine.write(T, reader(src), Merge(("id",), Column("seq")), commit(1))
    assert out.rows_written == 3
    got = {r["id"]: r["seq"] for r in engine.read(T).to_pylist()}
    assert got == {1: 3, 2: 5, 3: 1}
    assert engine.last_commit(T, APP) == commit(1, rows=3)
    assert not any((tmp_path / "_dl_staging").iterdir())  # staging removed


def test_a_session_refusing_confs_still_creates_the_table(
    spark_engine: SparkEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pyspark.sql.conf import RuntimeConfig

    original = RuntimeConfig.set

    def refusing(self: RuntimeConfig, key: str, value: Any) -> None:
        if key.endswith("allowArbitraryProperties.enabled"):
            raise RuntimeError(f"[CONFIG_NOT_AVAILABLE] {key}")  # as serverless refuses
        original(self, key, value)

    monkeypatch.setattr(RuntimeConfig, "set", refusing)
    out = spark_engine.write(T, reader(rows([1, 2])), Append(), commit(1))
    assert (out.rows_written, out.delta_version) == (2, 0)
    assert spark_engine.last_commit(T, APP) == commit(1, rows=2)
    assert spark_engine.recorded_version(T, APP) == 1
    config = RsTable(spark_engine.location(T)).metadata().configuration
    assert "delta.targetFileSize" not in config
    conf = spark_engine.spark.conf
    assert conf.get("spark.databricks.delta.commitInfo.userMetadata", None) is None

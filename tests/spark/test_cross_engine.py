"""Differential test: the same writes through delta_rs and spark leave the same table.

And a table written by one engine is read and continued (append, merge) by the other.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from dataloader_sdk.engines.base import EngineSettings
from dataloader_sdk.engines.spark import SparkEngine
from dataloader_sdk.model import (
    Append,
    Column,
    Compare,
    Merge,
    Overwrite,
    ReplaceWhere,
    TargetName,
    WriteMode,
)
from tests.spark._helpers import EXPECTED_TYPES, commit, reader, sorted_rows, typed_rows

pytestmark = pytest.mark.spark

delta_rs = pytest.importorskip("dataloader_sdk.engines.delta_rs")

T = TargetName("bronze", "orders")


def _steps() -> list[tuple[pa.Table, WriteMode]]:
    merge = Merge(("id",), Column("seq"))
    evolved = typed_rows([2, 3, 9], [9, 1, 4]).append_column(
        "note", pa.array(["x", None, "z"], pa.string()))
    return [
        (typed_rows([1, 2, 3, 4], [5, 5, None, 5]), Overwrite()),
        (typed_rows([5, 6]), Append()),
        (typed_rows([1, 1, 2, 3, 4, 7], [7, 6, 4, 1, None, 2]), merge),
        (evolved, merge),
        (typed_rows([]).slice(0, 0), Append()),
        (typed_rows([5]), ReplaceWhere((Compare(Column("id"), ">=", 5),
                                        Compare(Column("id"), "<", 7)))),
    ]


def test_same_writes_same_table(spark_engine: SparkEngine, tmp_path: Path) -> None:
    rs = delta_rs.DeltaRsEngine(EngineSettings(root=str(tmp_path / "rs")))
    for version, (rows, mode) in enumerate(_steps(), start=1):
        a = rs.write(T, reader(rows), mode, commit(version))
        b = spark_engine.write(T, reader(rows), mode, commit(version))
        assert (a.rows_written, a.replayed) == (b.rows_written, b.replayed), mode
        assert spark_engine.write(T, reader(rows), mode, commit(version)).replayed
    left, right = rs.read(T), spark_engine.read(T)
    assert left.schema == right.schema
    assert {f.name: f.type for f in right.schema} == {**EXPECTED_TYPES, "note": pa.string()}
    assert sorted_rows(left) == sorted_rows(right)
    # Both engines record the step's real row count (the sixth step has one row).
    assert rs.last_commit(T, commit(1).app_id) == commit(6, rows=1)
    assert spark_engine.last_commit(T, commit(1).app_id) == commit(6, rows=1)


def test_tables_continue_across_engines(spark_engine: SparkEngine) -> None:
    # delta_rs and spark share the layout root/schema/table, so they open each other's tables.
    rs = delta_rs.DeltaRsEngine(EngineSettings(root=spark_engine.root))
    merge = Merge(("id",), Column("seq"))
    rs.write(T, reader(typed_rows([1, 2], [1, 1])), Append(), commit(1))
    spark_engine.write(T, reader(typed_rows([3])), Append(), commit(2))
    spark_engine.write(T, reader(typed_rows([1, 4], [2, 2])), merge, commit(3))
    rs.write(T, reader(typed_rows([2, 5], [3, 3])), merge, commit(4))
    # delta_rs recorded step 4's app transaction: Delta (and the engine) skip its replay.
    assert spark_engine.write(T, reader(typed_rows([6])), Append(), commit(4)).replayed
    expected = {1: 2, 2: 3, 3: 1, 4: 2, 5: 3}
    for engine in (rs, spark_engine):
        table = engine.read(T)
        assert {f.name: f.type for f in table.schema} == EXPECTED_TYPES
        assert {r["id"]: r["seq"] for r in table.to_pylist()} == expected
    assert spark_engine.count(T) == rs.count(T) == 5


def test_each_engine_reads_the_others_commit_metadata(
    spark_engine: SparkEngine, tmp_path: Path
) -> None:
    # Recovery after a crash reads the last dataloader commit; it must work whichever
    # engine wrote it (delta_rs also writes userMetadata, the field Spark reads).
    rs = delta_rs.DeltaRsEngine(EngineSettings(root=spark_engine.root))
    a, b = TargetName("bronze", "by_rs"), TargetName("bronze", "by_spark")
    rs.write(a, reader(typed_rows([1, 2])), Overwrite(), commit(3))
    spark_engine.write(b, reader(typed_rows([1, 2])), Overwrite(), commit(4))
    assert spark_engine.last_commit(a, commit(3).app_id) == commit(3, rows=2)
    assert rs.last_commit(b, commit(4).app_id) == commit(4, rows=2)
    # And the app transaction recorded by one engine makes the other's replay a no-op.
    assert spark_engine.write(a, reader(typed_rows([9])), Append(), commit(3)).replayed
    assert rs.write(b, reader(typed_rows([9])), Append(), commit(4)).replayed

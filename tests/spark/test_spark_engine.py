"""The Spark engine against a real local Spark + Delta (one shared session)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from dataloader_sdk.engines.base import Engine, EngineSettings
from dataloader_sdk.engines.spark import SparkEngine, SparkEngineFactory
from dataloader_sdk.errors import ConfigError, DestinationError
from dataloader_sdk.model import (
    Append,
    Column,
    Compare,
    IsNull,
    Merge,
    Overwrite,
    ReplaceWhere,
    TargetName,
)
from tests.spark._helpers import (
    APP,
    EXPECTED_TYPES,
    UTC,
    commit,
    reader,
    sorted_rows,
    typed_rows,
)

pytestmark = pytest.mark.spark

T = TargetName("bronze", "orders")


def types_of(table: pa.Table) -> dict[str, pa.DataType]:
    return {f.name: f.type for f in table.schema}


def test_factory_is_lazy_and_validates() -> None:
    engine = SparkEngineFactory().open(EngineSettings(root="/tmp/x"))
    assert isinstance(engine, Engine)
    assert engine.name == "spark"
    assert engine._spark is None  # no session touched by open()
    uc = SparkEngineFactory().open(EngineSettings(root="uc:main"))
    assert uc.catalog_mode and uc.location(T) == "`main`.`bronze`.`orders`"
    assert uc.location(TargetName("s", "t", catalog="c")) == "`c`.`s`.`t`"
    with pytest.raises(ConfigError, match="must match"):
        uc.location(TargetName("s", "t-x"))
    with pytest.raises(ConfigError):
        SparkEngineFactory().open(EngineSettings(root=""))


def test_overwrite_and_append_keep_types(spark_engine: SparkEngine) -> None:
    out = spark_engine.write(T, reader(typed_rows([1, 2, 3])), Overwrite(), commit(1))
    assert (out.rows_written, out.replayed, out.delta_version) == (3, False, 0)
    out = spark_engine.write(T, reader(typed_rows([4, 5])), Append(), commit(2))
    assert (out.rows_written, out.replayed, out.delta_version) == (2, False, 1)
    table = spark_engine.read(T)
    assert types_of(table) == EXPECTED_TYPES
    assert sorted_rows(table) == sorted_rows(typed_rows([1, 2, 3, 4, 5]).cast(table.schema))
    # Overwrite replaces rows and schema in one commit.
    out = spark_engine.write(T, reader(typed_rows([9]).select(["id"])), Overwrite(), commit(3))
    assert spark_engine.read(T).to_pylist() == [{"id": 9}]
    assert spark_engine.count(T) == 1


def test_replay_writes_nothing(spark_engine: SparkEngine) -> None:
    spark_engine.write(T, reader(typed_rows([1, 2])), Append(), commit(1))
    first = spark_engine.write(T, reader(typed_rows([3])), Append(), commit(2))
    again = spark_engine.write(T, reader(typed_rows([3])), Append(), commit(2))
    older = spark_engine.write(T, reader(typed_rows([3])), Append(), commit(1))
    assert not first.replayed
    assert again.replayed and again.rows_written == 0
    assert again.delta_version == first.delta_version
    assert older.replayed
    assert spark_engine.count(T) == 3
    # A merge replay is skipped too.
    merge = Merge(("id",), Column("seq"))
    m1 = spark_engine.write(T, reader(typed_rows([3, 4], [5, 5])), merge, commit(3))
    m2 = spark_engine.write(T, reader(typed_rows([3, 4], [6, 6])), merge, commit(3))
    assert not m1.replayed and m1.rows_written == 2
    assert m2.replayed and spark_engine.count(T, (Compare(Column("seq"), "=", 6),)) == 0


def test_delta_skips_replay_recorded_without_metadata(
    spark_engine: SparkEngine, tmp_path: Path
) -> None:
    """A transaction recorded without our userMetadata (e.g. by another writer)."""
    spark_engine.write(T, reader(typed_rows([1])), Append(), commit(1))
    df = spark_engine.spark.createDataFrame([(7,)], "id long")
    (df.write.format("delta").mode("append").option("txnAppId", "other")
     .option("txnVersion", "5").save(spark_engine.location(T)))
    out = spark_engine.write(T, reader(typed_rows([2])), Append(), commit(5, app="other"))
    assert out.replayed and out.rows_written == 0
    assert spark_engine.count(T) == 2


def test_commit_metadata_round_trip(spark_engine: SparkEngine) -> None:
    assert spark_engine.last_commit(T, APP) is None
    spark_engine.write(T, reader(typed_rows([1])), Append(), commit(1, rows=1))
    spark_engine.write(T, reader(typed_rows([2])), Append(), commit(2, rows=1))
    spark_engine.write(T, reader(typed_rows([3])), Append(), commit(7, app="dataloader_sdk:2"))
    assert spark_engine.last_commit(T, APP) == commit(2, rows=1)
    assert spark_engine.last_commit(T, "dataloader_sdk:2") == commit(
        7, app="dataloader_sdk:2", rows=1)
    assert spark_engine.last_commit(T, "dataloader_sdk:3") is None
    merge = Merge(("id",))
    spark_engine.write(T, reader(typed_rows([1, 4])), merge, commit(3))
    assert spark_engine.last_commit(T, APP) == commit(3, rows=2)
    # The MERGE's session confs are restored afterwards.
    conf = spark_engine.spark.conf
    assert conf.get("spark.databricks.delta.write.txnAppId", None) is None
    assert conf.get("spark.databricks.delta.commitInfo.userMetadata", None) is None


def test_empty_write_still_commits_metadata(spark_engine: SparkEngine) -> None:
    spark_engine.write(T, reader(typed_rows([1])), Append(), commit(1))
    empty = typed_rows([]).slice(0, 0)
    out = spark_engine.write(T, reader(empty), Append(), commit(2))
    assert (out.rows_written, out.replayed, out.delta_version) == (0, False, 1)
    out = spark_engine.write(T, reader(empty), Merge(("id",)), commit(3))
    assert (out.rows_written, out.delta_version) == (0, 2)
    assert spark_engine.last_commit(T, APP) == commit(3)
    assert spark_engine.count(T) == 1


def test_merge_dedup_and_sequence_guard(spark_engine: SparkEngine) -> None:
    merge = Merge(("id",), Column("seq"))
    spark_engine.write(T, reader(typed_rows([1, 2, 3, 4], [5, 5, None, 5])), merge, commit(1))
    # id 1: two source rows, greatest sequence wins; id 2: older than target, kept;
    # id 3: target sequence NULL counts as older, updated; id 4: NULL source seq, kept;
    # id 5: new, ties on sequence resolved to the row read last.
    src = typed_rows([1, 1, 2, 3, 4, 5, 5], [7, 6, 4, 1, None, 2, 2])
    src = src.set_column(src.schema.get_field_index("name"), "name",
                         pa.array(["a", "b", "c", "d", "e", "f", "g"], pa.large_string()))
    out = spark_engine.write(T, reader(src), merge, commit(2))
    assert out.rows_written == 3  # 2 updated (ids 1, 3) + 1 inserted (id 5)
    got = {r["id"]: (r["seq"], r["name"]) for r in spark_engine.read(T).to_pylist()}
    assert got == {1: (7, "a"), 2: (5, "n'2\\"), 3: (1, "d"), 4: (5, "n'4\\"), 5: (2, "g")}


def test_merge_refuses_null_keys(spark_engine: SparkEngine) -> None:
    spark_engine.write(T, reader(typed_rows([1])), Append(), commit(1))
    bad = typed_rows([1, 2])
    bad = bad.set_column(0, "id", pa.array([1, None], pa.int64()))
    with pytest.raises(DestinationError, match="NULL in key column 'id'"):
        spark_engine.write(T, reader(bad), Merge(("id",)), commit(2))
    assert spark_engine.last_commit(T, APP) == commit(1, rows=1)


def test_replace_where_is_exact(spark_engine: SparkEngine) -> None:
    rows = typed_rows(list(range(1, 11)))
    spark_engine.write(T, reader(rows), ReplaceWhere((Compare(Column("id"), ">=", 5),)),
                       commit(1))  # first load creates the table
    window = (Compare(Column("day"), ">=", rows.column("day")[6].as_py()),
              Compare(Column("name"), "<", "n'9\\x"))
    assert spark_engine.count(T, window) == 4  # ids 7-10 ('n'10\' sorts before 'n'9\x')
    new = typed_rows([7, 8]).set_column(7, "name", pa.array(["n'7\\", "n'8\\"],
                                                               pa.large_string()))
    spark_engine.write(T, reader(new), ReplaceWhere(window), commit(2))
    assert sorted(r["id"] for r in spark_engine.read(T).to_pylist()) == list(range(1, 9))
    # Rows outside the predicate are refused and nothing changes.
    with pytest.raises(DestinationError):
        spark_engine.write(T, reader(typed_rows([1])), ReplaceWhere(window), commit(3))
    assert spark_engine.count(T) == 8
    with pytest.raises(ConfigError, match="at least one predicate"):
        spark_engine.write(T, reader(typed_rows([1])), ReplaceWhere(()), commit(3))


def test_predicate_literals(spark_engine: SparkEngine) -> None:
    spark_engine.write(T, reader(typed_rows([1, 2, 3], [1, None, 3])), Append(), commit(1))
    ts = datetime(2024, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert spark_engine.count(T, (Compare(Column("updated_at"), ">", ts),)) == 1
    assert spark_engine.count(T, (Compare(Column("local_ts"), ">=",
                                          datetime(2024, 2, 1, 8, 30, 2)),)) == 2
    assert spark_engine.count(T, (Compare(Column("amount"), "=", Decimal("0.02")),)) == 1
    assert spark_engine.count(T, (Compare(Column("ratio"), "<", 0.5),)) == 1
    assert spark_engine.count(T, (IsNull(Column("updated_at")),)) == 1
    assert spark_engine.count(T, (Compare(Column("name"), "=", "n'2\\"),)) == 1
    assert spark_engine.count(T, (Compare(Column("id"), ">", -(2**70)),)) == 3


def test_schema_evolution_and_type_change(spark_engine: SparkEngine) -> None:
    spark_engine.write(T, reader(typed_rows([1])), Append(), commit(1))
    wider = typed_rows([2]).append_column("extra", pa.array(["x"]))
    spark_engine.write(T, reader(wider), Append(), commit(2))
    merged = typed_rows([1]).append_column("more", pa.array([Decimal("1.5")],
                                                             pa.decimal128(5, 1)))
    spark_engine.write(T, reader(merged), Merge(("id",), Column("seq")), commit(3))
    table = spark_engine.read(T)
    assert table.schema.field("extra").type == pa.string()
    assert table.schema.field("more").type == pa.decimal128(5, 1)
    got = {r["id"]: (r["extra"], r["more"]) for r in table.to_pylist()}
    assert got == {1: (None, Decimal("1.5")), 2: ("x", None)}
    # A narrower integer widens into the existing column, losslessly.
    narrow = typed_rows([3]).set_column(0, "id", pa.array([3], pa.int32()))
    spark_engine.write(T, reader(narrow), Append(), commit(4))
    assert spark_engine.read(T).schema.field("id").type == pa.int64()
    changed = typed_rows([4]).set_column(0, "id", pa.array(["4"], pa.string()))
    for mode in (Append(), Merge(("id",))):
        with pytest.raises(DestinationError, match="column 'id' is int64"):
            spark_engine.write(T, reader(changed), mode, commit(5))
    assert spark_engine.count(T) == 3


def test_big_step_is_staged_through_parquet(spark: object, tmp_path: Path) -> None:
    engine = SparkEngine(spark=spark, root=str(tmp_path), inline_limit_bytes=1)  # type: ignore[arg-type]
    rows = typed_rows(list(range(20)))
    out = engine.write(T, reader(rows), Append(), commit(1))
    assert out.rows_written == 20
    table = engine.read(T)
    assert types_of(table) == EXPECTED_TYPES
    assert sorted_rows(table) == sorted_rows(rows.cast(table.schema))
    assert not any((tmp_path / "_dl_staging").iterdir())  # staging removed


def test_catalog_mode(spark: object) -> None:
    engine = SparkEngine(spark=spark, catalog_mode=True)  # type: ignore[arg-type]
    target = TargetName("dl_catalog_test", "orders")
    engine.write(target, reader(typed_rows([1, 2])), Append(), commit(1))
    engine.write(target, reader(typed_rows([2, 3], [9, 9])), Merge(("id",), Column("seq")),
                 commit(2))
    assert engine.exists(target)
    assert types_of(engine.read(target)) == EXPECTED_TYPES
    assert engine.count(target, (Compare(Column("seq"), "=", 9),)) == 2
    assert engine.last_commit(target, APP) == commit(2, rows=2)
    assert engine.write(target, reader(typed_rows([5])), Append(), commit(2)).replayed


def test_write_dataframe_merge_dedups_in_spark(spark_engine: SparkEngine) -> None:
    spark = spark_engine.spark
    spark_engine.write(T, reader(typed_rows([1, 2], [5, 5])), Append(), commit(1))
    df = spark.createDataFrame(
        [(1, 9, "a"), (1, 8, "b"), (2, 1, "c"), (3, None, "d"), (3, 2, "e")],
        "id int, seq long, name string",
    )
    out = spark_engine.write_dataframe(T, df, Merge(("id",), Column("seq")), commit(2))
    assert out.rows_written == 2 and not out.replayed
    got = {r["id"]: (r["seq"], r["name"]) for r in spark_engine.read(T).to_pylist()}
    assert got == {1: (9, "a"), 2: (5, "n'2\\"), 3: (2, "e")}
    assert spark_engine.read(T).schema.field("id").type == pa.int64()
    bad = spark.createDataFrame([(None, 1)], "id long, seq long")
    with pytest.raises(DestinationError, match="NULL in a key column"):
        spark_engine.write_dataframe(T, bad, Merge(("id",)), commit(3))
    again = spark_engine.write_dataframe(T, df, Append(), commit(2))
    assert again.replayed

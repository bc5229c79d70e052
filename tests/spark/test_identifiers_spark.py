"""Special column names on the Spark engine (issue #9, item 5): the Spark half of
tests/reliability/test_identifiers.py.

Spark quotes identifiers with backticks (embedded backticks doubled), and MERGE's
update-all/insert-all resolve columns itself, so backticks, quotes, dots and non-ASCII
work through every write mode. Delta on Spark refuses names containing any of
`` ,;{}()\\n\\t=`` without column mapping; the engine says so, naming the columns.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataloader_sdk.config import Settings
from dataloader_sdk.engines.base import Engine
from dataloader_sdk.engines.spark import SparkEngine
from dataloader_sdk.engines.spark.errors import SPARK_INVALID_NAME_CHARS
from dataloader_sdk.errors import DestinationError
from dataloader_sdk.model import Column, Compare, IsNull, Merge, ReplaceWhere, TargetName
from tests.reliability.test_identifiers import (
    NAME_CHARS,
    STRATEGIES,
    VALUES,
    column_names,
    load_twice,
    names_of,
)
from tests.spark._helpers import commit

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

TARGET = TargetName("bronze", "odd")
KEY, SEQ, GONE, VAL, NEW = "k`e``y", 's"e\'q', "d.e'l", "v`a\"l.é日本", "n`éw"


def reader(columns: dict[str, list[Any]]) -> pa.RecordBatchReader:
    table = pa.table(columns)
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=2))


def by_key(engine: SparkEngine) -> dict[Any, dict[str, Any]]:
    return {row[KEY]: row for row in engine.read(TARGET).to_pylist()}


@pytest.mark.parametrize("delete_mode", ["delete", "flag"])
def test_merge_with_guard_soft_delete_and_new_column(
    spark_engine: SparkEngine, delete_mode: str
) -> None:
    mode = Merge(keys=(KEY,), sequence=Column(SEQ), delete_column=GONE,
                 delete_mode=delete_mode)  # type: ignore[arg-type]
    spark_engine.write(TARGET, reader({KEY: [1, 2, 3], SEQ: [10, 10, 10], GONE: [False] * 3,
                                       VAL: ["a", "b", "c"]}), mode, commit(1))
    spark_engine.write(TARGET, reader({KEY: [1, 2, 3, 4], SEQ: [11, 9, 12, 1],
                                       GONE: [False, False, True, False],
                                       VAL: ["A", "B", "C", "D"], NEW: [1, 2, 3, 4]}),
                       mode, commit(2))
    table = by_key(spark_engine)
    assert table[1][VAL] == "A" and table[1][NEW] == 1
    assert table[2][VAL] == "b" and table[2][NEW] is None  # the guard kept the newer row
    assert table[4][VAL] == "D"
    if delete_mode == "delete":
        assert sorted(table) == [1, 2, 4]
    else:
        assert table[3]["_dl_deleted"] is True
    assert spark_engine.count(TARGET, (Compare(Column(SEQ), ">=", 11),)) == (
        1 if delete_mode == "delete" else 2)
    assert spark_engine.count(TARGET, (IsNull(Column(NEW)),)) == 1


def test_replace_where_and_count_over_a_special_column(spark_engine: SparkEngine) -> None:
    window = (Compare(Column(SEQ), ">=", date(2024, 1, 2)),)
    spark_engine.write(TARGET, reader({SEQ: [date(2024, 1, 1), date(2024, 1, 2)],
                                       VAL: ["old", "x"]}), ReplaceWhere(window), commit(1))
    spark_engine.write(TARGET, reader({SEQ: [date(2024, 1, 3)], VAL: ["it's `z`"]}),
                       ReplaceWhere(window), commit(2))
    assert sorted(spark_engine.read(TARGET).column(VAL).to_pylist()) == ["it's `z`", "old"]
    assert spark_engine.count(TARGET, (Compare(Column(VAL), "=", "it's `z`"),)) == 1


def test_write_dataframe_merge_with_special_key_and_sequence(
    spark_engine: SparkEngine, spark: SparkSession
) -> None:
    mode = Merge(keys=(KEY,), sequence=Column(SEQ))
    first = spark.createDataFrame([(1, 5, "a"), (1, 6, "b"), (2, 1, "c")], [KEY, SEQ, VAL])
    spark_engine.write_dataframe(TARGET, first, mode, commit(1))
    second = spark.createDataFrame([(1, 4, "old"), (2, 2, "new")], [KEY, SEQ, VAL])
    spark_engine.write_dataframe(TARGET, second, mode, commit(2))
    assert {k: r[VAL] for k, r in by_key(spark_engine).items()} == {1: "b", 2: "new"}


@pytest.mark.parametrize("name", ["a b", "x,y", "f(x)", "k=v"])
def test_names_delta_on_spark_refuses_are_named_in_the_error(
    spark_engine: SparkEngine, name: str
) -> None:
    with pytest.raises(DestinationError, match="refuses the column name") as failed:
        spark_engine.write(TARGET, reader({"id": [1], name: ["x"]}), Merge(keys=("id",)),
                           commit(1))
    assert repr(name) in str(failed.value) and "delta_rs" in str(failed.value)
    assert not failed.value.retryable
    assert not spark_engine.exists(TARGET)


SPARK_CHARS = "".join(ch for ch in NAME_CHARS if ch not in SPARK_INVALID_NAME_CHARS)
EXAMPLES = int(os.environ.get("DL_SPARK_IDENTIFIER_EXAMPLES", "1"))


@pytest.mark.integration
@pytest.mark.parametrize("strategy", STRATEGIES)
@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(names=column_names(SPARK_CHARS), table=names_of(NAME_CHARS),
       values=st.lists(VALUES, min_size=6, max_size=6))
def test_generated_names_and_values_load_twice_like_the_source(
    spark: SparkSession, tmp_path: Path, names: list[str], table: str,
    values: list[str | None], strategy: str,
) -> None:
    def engine(settings_: Settings) -> Engine:
        return SparkEngine(spark=spark, root=settings_.delta_root)

    load_twice(engine, names, table, values, strategy)

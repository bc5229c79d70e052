"""A real commit conflict on the Spark engine is a DestinationTransientError (issue #9, 6).

The merge's source runs a Python UDF that, the first time it is evaluated (inside the
MERGE, after Delta pinned its snapshot), lets another writer (delta-rs, in the Python
worker process) append to the target. Delta on Spark then refuses the MERGE's commit with
``ConcurrentAppendException``; retrying the same step succeeds.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from dataloader_sdk.engines.spark import SparkEngine
from dataloader_sdk.errors import DestinationError, DestinationTransientError
from dataloader_sdk.model import Merge, TargetName
from tests.spark._helpers import commit

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

TARGET = TargetName("bronze", "conflict")


_RIVAL = """
import sys, pyarrow as pa
from deltalake import write_deltalake
write_deltalake(sys.argv[1], pa.table({"id": pa.array([100], pa.int64()), "v": ["rival"]}),
                mode="append")
"""


def source_with_rival(spark: SparkSession, uri: str, marker: Path) -> DataFrame:
    """Rows (1, 'new'), (3, 'new'); evaluating them makes one rival append to ``uri``.

    The rival runs in its own process with this interpreter (Spark's Python worker may be
    another Python, without deltalake).
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType

    python = sys.executable

    def rival(value: str) -> str:
        import os
        import subprocess

        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return value  # the rival commits once, however often Spark evaluates this
        os.close(fd)
        subprocess.run([python, "-c", _RIVAL, uri], check=True, timeout=300)
        return value

    udf = F.udf(rival, StringType())
    base = spark.createDataFrame([(1, "new"), (3, "new")], "id BIGINT, v STRING")
    return base.select("id", udf(F.col("v")).alias("v"))


def test_a_concurrent_commit_conflict_is_transient_and_the_retry_succeeds(
    spark_engine: SparkEngine, spark: SparkSession, tmp_path: Path
) -> None:
    mode = Merge(keys=("id",))
    first = spark.createDataFrame([(1, "old"), (2, "old")], "id BIGINT, v STRING")
    spark_engine.write_dataframe(TARGET, first, mode, commit(1))
    uri = spark_engine.location(TARGET)
    source = source_with_rival(spark, uri, tmp_path / "rival-done")
    with pytest.raises(DestinationError) as failed:
        spark_engine.write_dataframe(TARGET, source, mode, commit(2))
    assert isinstance(failed.value, DestinationTransientError) and failed.value.retryable
    assert "Concurrent" in str(failed.value) or "CONCURRENT" in str(failed.value)
    rows = {r["id"]: r["v"] for r in spark_engine.read(TARGET).to_pylist()}
    assert rows == {1: "old", 2: "old", 100: "rival"}  # our merge did not commit
    out = spark_engine.write_dataframe(TARGET, source, mode, commit(2))  # marker set: no rival
    assert not out.replayed
    rows = {r["id"]: r["v"] for r in spark_engine.read(TARGET).to_pylist()}
    assert rows == {1: "new", 2: "old", 3: "new", 100: "rival"}

"""Getting a step's Arrow batches into Spark, on the driver, with exact types.

Small steps (up to ``inline_limit_bytes`` of Arrow data, 64 MiB by default) become a
DataFrame through ``spark.createDataFrame(pyarrow.Table, schema)`` — one hop, no files.

Bigger steps are spilled batch by batch to Parquet files in a staging directory that both
the driver and the executors can see (under the engine root for local path tables, or an
explicit ``staging_dir`` such as a Unity Catalog volume ``/Volumes/...`` on Databricks),
and Spark reads that directory back with the explicit schema; the Delta write is still one
commit. Memory on the driver stays at one batch plus the Parquet writer's buffers. The
directory is removed after the write. Without a usable staging directory the rows are
collected on the driver (logged), which is fine for what one machine can hold anyway; for
tables too big for that, read with Spark JDBC (the table's ``jdbc`` read path) instead.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from dataloader_sdk.engines.spark.types import arrow_schema_to_spark, conform_for_spark

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["Frame", "frame_from_reader", "frame_from_table"]

log = logging.getLogger(__name__)


@dataclass
class Frame:
    """A DataFrame over a step's rows, its row count and how to clean up after the write."""

    df: DataFrame
    rows: int
    cleanup: Callable[[], None]


def _nothing() -> None:
    return None


def frame_from_table(
    spark: SparkSession, table: pa.Table, target: object, target_types: dict[str, pa.DataType]
) -> Frame:
    """A DataFrame over an in-memory Arrow table (types conformed, schema explicit)."""
    table = conform_for_spark(table, target_types)
    schema = arrow_schema_to_spark(table.schema, target)
    return Frame(spark.createDataFrame(table, schema=schema), table.num_rows, _nothing)


def frame_from_reader(
    spark: SparkSession,
    reader: pa.RecordBatchReader,
    target: object,
    target_types: dict[str, pa.DataType],
    *,
    staging_dir: str | None,
    inline_limit_bytes: int,
) -> Frame:
    """A DataFrame over a stream of batches; spills to Parquet past the inline limit."""
    import pyarrow.parquet as pq

    batches: list[pa.Table] = []
    held = 0
    rows = 0
    writer: pq.ParquetWriter | None = None
    stage: Path | None = None
    schema: pa.Schema | None = None
    try:
        for batch in reader:
            part = conform_for_spark(pa.Table.from_batches([batch]), target_types)
            schema = part.schema
            rows += part.num_rows
            if writer is not None:
                writer.write_table(part)
                continue
            batches.append(part)
            held += part.nbytes
            if held > inline_limit_bytes and staging_dir is not None:
                stage = Path(staging_dir) / f"dl-stage-{uuid.uuid4().hex}"
                stage.mkdir(parents=True)
                writer = pq.ParquetWriter(
                    str(stage / "part-00000.parquet"), part.schema, coerce_timestamps="us"
                )
                for held_part in batches:
                    writer.write_table(held_part)
                batches.clear()
                log.info("staging %s rows of %s as Parquet in %s", rows, target, stage)
        if writer is not None and stage is not None:
            writer.close()
            writer = None
            assert schema is not None
            spark_schema = arrow_schema_to_spark(schema, target)
            df = spark.read.schema(spark_schema).parquet(str(stage))
            staged = stage
            return Frame(df, rows, lambda: shutil.rmtree(staged, ignore_errors=True))
    except BaseException:
        if writer is not None:
            writer.close()
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)
        raise
    if held > inline_limit_bytes:
        log.warning(
            "%s: %d bytes of Arrow data collected on the driver (no staging_dir); set the "
            "engine's staging_dir or read big tables with Spark JDBC", target, held,
        )
    empty = conform_for_spark(reader.schema.empty_table(), target_types)
    table = pa.concat_tables(batches) if batches else empty
    return frame_from_table(spark, table, target, {})

"""The one Delta operation of each write mode on Spark, carrying the step's commit.

DataFrame writes carry ``txnAppId``/``txnVersion`` (Delta skips a replay itself) and
``userMetadata`` (JSON of :meth:`CommitInfo.to_metadata`) as per-write options, so no
session setting is assumed. MERGE has no per-statement options for these, so the session
confs ``spark.databricks.delta.write.txnAppId``/``txnVersion`` and
``spark.databricks.delta.commitInfo.userMetadata`` are set and restored around exactly one
``execute()``, under a process-wide lock.

A table is created by the first write to it (``writeTo(...).create()``), which stores
``delta.targetFileSize`` as delta_rs does (``common/sizes.py``): Databricks' writes, merges
and OPTIMIZE take their file size from it, and so does delta_rs continuing the table.
Open-source Delta does not know the property, so its check for unknown ``delta.*``
properties is switched off for that one statement; DataFrameWriter options would store
the key lower-cased, which no engine reads. ``create()`` takes the app transaction as
options but no ``userMetadata``, so the metadata travels in the session conf, as for
MERGE. A session that refuses these confs (some serverless workspaces) gets the table
created by a plain append, as before, without the property.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import pyarrow as pa

from dataloader_sdk.engines.common.sizes import TARGET_FILE_SIZE, TARGET_FILE_SIZE_PROPERTY
from dataloader_sdk.engines.spark.frames import Frame
from dataloader_sdk.engines.spark.merge import sequence_guard
from dataloader_sdk.engines.spark.sql import quote_ident, render_where
from dataloader_sdk.engines.spark.tables import SparkTables
from dataloader_sdk.errors import ConfigError
from dataloader_sdk.model import Append, CommitInfo, Merge, Overwrite, ReplaceWhere, TargetName, WriteMode

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, DataFrameWriter, SparkSession

__all__ = ["Prepared", "SessionConfRefused", "apply", "session_confs"]

log = logging.getLogger(__name__)

_CONF_TXN_APP = "spark.databricks.delta.write.txnAppId"
_CONF_TXN_VERSION = "spark.databricks.delta.write.txnVersion"
_CONF_USER_METADATA = "spark.databricks.delta.commitInfo.userMetadata"
_CONF_ARBITRARY_PROPERTIES = "spark.databricks.delta.allowArbitraryProperties.enabled"

# Session confs are shared by every thread of the session: one MERGE at a time may own them.
_session_conf_lock = threading.Lock()


class SessionConfRefused(Exception):
    """The session refused to set a conf (the message is the session's own)."""


@dataclass(frozen=True)
class Prepared:
    """A step's rows as a DataFrame, ready for the Delta operation of its write mode."""

    frame: Frame
    table_schema: pa.Schema | None


def _metadata_json(commit: CommitInfo) -> str:
    return json.dumps(commit.to_metadata(), sort_keys=True)


def _writer(df: DataFrame, save_mode: str, commit: CommitInfo) -> DataFrameWriter:
    return (
        df.write.format("delta")
        .mode(save_mode)
        .option("txnAppId", commit.app_id)
        .option("txnVersion", str(commit.txn_version))
        .option("userMetadata", _metadata_json(commit))
    )


def _create(tables: SparkTables, target: TargetName, df: DataFrame, commit: CommitInfo) -> None:
    """Create the table from ``df`` in one commit (see the module docstring)."""
    writer = (
        df.writeTo(tables.table_ref(target)).using("delta")
        .tableProperty(TARGET_FILE_SIZE_PROPERTY, str(TARGET_FILE_SIZE))
        .option("txnAppId", commit.app_id)
        .option("txnVersion", str(commit.txn_version))
    )
    confs = {_CONF_ARBITRARY_PROPERTIES: "true", _CONF_USER_METADATA: _metadata_json(commit)}
    try:
        with session_confs(tables.spark, confs):
            writer.create()
    except SessionConfRefused as exc:
        log.info("table %s: created without %s (%s)", target, TARGET_FILE_SIZE_PROPERTY, exc)
        _save(tables, _writer(df, "append", commit).option("mergeSchema", "true"), target)


def _save(tables: SparkTables, writer: DataFrameWriter, target: TargetName) -> None:
    if tables.catalog_mode:
        writer.saveAsTable(tables.location(target))
    else:
        writer.save(tables.location(target))


def _replace_where(target: TargetName, mode: ReplaceWhere) -> str:
    text = render_where(mode.predicate)
    if text is None:
        raise ConfigError(
            f"table {target}: ReplaceWhere needs at least one predicate; use "
            "Overwrite to replace the whole table"
        )
    return text


def apply(
    tables: SparkTables, target: TargetName, prepared: Prepared, mode: WriteMode,
    commit: CommitInfo, *, exists: bool,
) -> int:
    """Write ``prepared`` as ``mode`` in one commit; rows written (``-1``: not known)."""
    if not isinstance(mode, Overwrite | Append | ReplaceWhere | Merge):
        raise ConfigError(f"table {target}: unsupported write mode {mode!r}")
    frame = prepared.frame
    # The step's rows are counted before the write here, so the commit says how many
    # (a DataFrame written directly is not counted: the commit leaves the count out).
    commit = replace(commit, rows=frame.rows if frame.rows >= 0 else None)
    # Checked before anything is written, a first load included (as delta_rs does).
    where = _replace_where(target, mode) if isinstance(mode, ReplaceWhere) else ""
    if not exists:
        # Every write mode starts a missing table the same way: with the step's rows.
        tables._ensure_schema(target)
        _create(tables, target, frame.df, commit)
        return frame.rows
    if isinstance(mode, Overwrite) or (isinstance(mode, Merge) and mode.replace_existing):
        writer = _writer(frame.df, "overwrite", commit).option("overwriteSchema", "true")
        _save(tables, writer, target)
        return frame.rows
    if isinstance(mode, ReplaceWhere):
        # Delta deletes the matching rows and adds the new ones in one commit, and
        # refuses new rows outside the predicate (as delta_rs does).
        writer = (
            _writer(frame.df, "overwrite", commit)
            .option("replaceWhere", where)
            .option("mergeSchema", "true")
        )
        _save(tables, writer, target)
        return frame.rows
    if isinstance(mode, Append):
        _save(tables, _writer(frame.df, "append", commit).option("mergeSchema", "true"), target)
        return frame.rows
    return _merge(tables, target, prepared, mode, commit)


def _merge(
    tables: SparkTables, target: TargetName, prepared: Prepared, mode: Merge,
    commit: CommitInfo,
) -> int:
    from pyspark.sql import functions as F

    source = prepared.frame.df
    if prepared.frame.rows == 0:
        # An empty MERGE makes no useful commit; an empty append does, carrying the
        # metadata and app transaction (new columns are still added), like delta_rs.
        _save(tables, _writer(source, "append", commit).option("mergeSchema", "true"), target)
        return 0
    table_columns = prepared.table_schema.names if prepared.table_schema else []
    condition = " AND ".join(
        f"t.{quote_ident(k)} = s.{quote_ident(k)}" for k in mode.keys
    )
    guard = (
        sequence_guard(mode.sequence, table_columns) if mode.sequence is not None else None
    )
    builder = (
        tables._delta_table(target).alias("t")
        .merge(source.alias("s"), F.expr(condition))
        .withSchemaEvolution()  # per statement: no autoMerge session conf needed
    )
    insert_when: str | None = None
    if mode.delete_column and mode.delete_mode == "delete":
        # As in delta_rs: the first matching clause wins, so the guarded delete comes
        # first, and a row deleted at the source is never inserted.
        flag = (f"coalesce(CAST(s.{quote_ident(mode.delete_column)} AS BOOLEAN), "
                "FALSE)")
        builder = builder.whenMatchedDelete(
            condition=F.expr(f"({guard}) AND {flag}" if guard else flag))
        insert_when = f"NOT {flag}"
    builder = (
        builder.whenMatchedUpdateAll(condition=F.expr(guard) if guard else None)
        .whenNotMatchedInsertAll(condition=F.expr(insert_when) if insert_when else None)
    )
    wanted = {
        _CONF_TXN_APP: commit.app_id,
        _CONF_TXN_VERSION: str(commit.txn_version),
        _CONF_USER_METADATA: _metadata_json(commit),
    }
    with session_confs(tables.spark, wanted):
        result = builder.execute().collect()
    if not result:
        return 0
    row = result[0].asDict()
    return sum(int(row.get(f"num_{kind}_rows", 0) or 0)
               for kind in ("updated", "inserted", "deleted"))


@contextmanager
def session_confs(spark: SparkSession, wanted: Mapping[str, str]) -> Iterator[None]:
    """Set session confs around one operation, restoring them after, under a lock.

    Raises:
        SessionConfRefused: the session refused to set one of them (nothing was run).
    """
    conf = spark.conf
    with _session_conf_lock:
        previous = {key: conf.get(key, None) for key in wanted}
        try:
            for key, value in wanted.items():
                try:
                    conf.set(key, value)
                except Exception as exc:
                    raise SessionConfRefused(f"{key}: {exc}") from exc
            yield
        finally:
            for key, old in previous.items():
                if old is None:
                    conf.unset(key)
                else:
                    conf.set(key, old)

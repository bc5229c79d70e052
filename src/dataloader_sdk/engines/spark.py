"""The Spark engine: Delta tables through pyspark + delta-spark (locally or on Databricks).

Same contract and same logical results as :mod:`dataloader_sdk.engines.delta_rs` — the
same rows and the same column types for every write mode — so either engine can continue
a table the other wrote. See docs/databricks.md.

Targets:
    * path mode (default): ``root/[catalog/]schema/table``, the delta_rs layout;
    * catalog mode (``EngineSettings(root="uc:")`` or ``"uc:<default catalog>"``):
      ``catalog.schema.table`` names in the session catalog / Unity Catalog, each part
      validated and backtick-quoted.

Every write is one Delta commit. DataFrame writes carry ``txnAppId``/``txnVersion`` (Delta
skips a replay itself) and ``userMetadata`` (JSON of :meth:`CommitInfo.to_metadata`) as
per-write options, so no session setting is assumed. MERGE has no per-statement options
for these, so the session confs ``spark.databricks.delta.write.txnAppId``/``txnVersion``
and ``spark.databricks.delta.commitInfo.userMetadata`` are set and restored around exactly
one ``execute()``, under a process-wide lock. Before writing, the engine itself looks up the
newest recorded step of the app id in the table history, so a replay consumes nothing and
is reported as ``replayed=True``; a replay that only Delta notices (no new commit) is
reported the same way.

pyspark is imported only inside functions: importing this module without pyspark works,
and using the engine then raises a ConfigError saying what to install.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from dataloader_sdk.engines import _spark_jdbc
from dataloader_sdk.engines._common import destination_error, table_lock
from dataloader_sdk.engines._drop import drop_local_table
from dataloader_sdk.engines._merge import (
    dedup,
    first_load_rows,
    soft_deletes,
    validate_merge_source,
)
from dataloader_sdk.engines._schema import check_compatible, normalize_type
from dataloader_sdk.engines._spark_errors import write_error
from dataloader_sdk.engines._spark_frames import Frame, frame_from_reader, frame_from_table
from dataloader_sdk.engines._spark_merge import dedup_frame, existing_types, sequence_guard
from dataloader_sdk.engines._spark_session import default_session, delta_table_class
from dataloader_sdk.engines._spark_sql import (
    quote_ident,
    quote_target,
    render_where,
)
from dataloader_sdk.engines._spark_types import arrow_schema_to_spark, spark_schema_to_arrow
from dataloader_sdk.engines.base import (
    RECENT_COMMITS,
    EngineSettings,
    JdbcConnection,
    LineageValues,
    MaintenanceOutcome,
    MaintenanceTask,
    StagedRead,
    TableFiles,
    WriteOutcome,
    find_commit,
)
from dataloader_sdk.errors import ConfigError, DataLoaderError, DestinationError
from dataloader_sdk.model import (
    Append,
    CommitInfo,
    Merge,
    Overwrite,
    Predicate,
    ReplaceWhere,
    ScalarValue,
    TargetName,
    WriteMode,
)

if TYPE_CHECKING:
    from delta.tables import DeltaTable
    from pyspark.sql import DataFrame, DataFrameWriter, SparkSession

__all__ = [
    "CATALOG_ROOT_PREFIX",
    "SparkEngine",
    "SparkEngineFactory",
]

log = logging.getLogger(__name__)

#: ``EngineSettings.root`` starting with this selects catalog mode (``uc:`` or ``uc:main``).
CATALOG_ROOT_PREFIX = "uc:"
_DEFAULT_INLINE_LIMIT = 64 * 1024 * 1024

_CONF_TXN_APP = "spark.databricks.delta.write.txnAppId"
_CONF_TXN_VERSION = "spark.databricks.delta.write.txnVersion"
_CONF_USER_METADATA = "spark.databricks.delta.commitInfo.userMetadata"

# Session confs are shared by every thread of the session: one MERGE at a time may own them.
_session_conf_lock = threading.Lock()


def _metadata_json(commit: CommitInfo) -> str:
    return json.dumps(commit.to_metadata(), sort_keys=True)


@dataclass(frozen=True)
class _Prepared:
    """A step's rows as a DataFrame, ready for the Delta operation of its write mode."""

    frame: Frame
    table_schema: pa.Schema | None


class SparkEngine:
    """Writes Delta tables with pyspark + delta-spark (see the module docstring).

    Args:
        spark: the session to use; default the active session, else a new local one
            with the Delta extensions (created on first use, never at construction).
        root: directory or URI of path tables; ignored in catalog mode.
        catalog_mode: address tables as ``catalog.schema.table`` instead of paths.
        default_catalog: catalog for targets without one (catalog mode); default the
            session's current catalog.
        staging_dir: where big Arrow steps are spilled as Parquet (must be visible to
            driver and executors); default ``root/_dl_staging`` for local path roots.
        inline_limit_bytes: Arrow bytes kept in memory before spilling.
    """

    name = "spark"

    def __init__(
        self,
        spark: SparkSession | None = None,
        root: str = "",
        *,
        catalog_mode: bool = False,
        default_catalog: str | None = None,
        staging_dir: str | None = None,
        inline_limit_bytes: int = _DEFAULT_INLINE_LIMIT,
    ) -> None:
        if not catalog_mode and not root:
            raise ConfigError("engine spark: give a root directory, or catalog_mode=True")
        self.root = root.rstrip("/")
        self.catalog_mode = catalog_mode
        self.default_catalog = default_catalog
        self.inline_limit_bytes = inline_limit_bytes
        if staging_dir is None and not catalog_mode and "://" not in root:
            staging_dir = str(Path(root) / "_dl_staging")
        self.staging_dir = staging_dir
        self._spark = spark
        self._spark_lock = threading.Lock()

    # -- session and names --------------------------------------------------------------

    @property
    def spark(self) -> SparkSession:
        """The session, found or created on first use."""
        with self._spark_lock:
            if self._spark is None:
                self._spark = default_session()
            return self._spark

    def location(self, target: TargetName) -> str:
        """The table's path (path mode) or quoted three-part name (catalog mode)."""
        if self.catalog_mode:
            return quote_target(target, self.default_catalog)
        quote_target(target)  # validates the parts, which become directory names
        return "/".join([self.root, *target.parts])

    def _sql_ref(self, target: TargetName) -> str:
        if self.catalog_mode:
            return self.location(target)
        return "delta." + quote_ident(self.location(target))

    def _delta_table(self, target: TargetName) -> DeltaTable:
        DeltaTable = delta_table_class()
        if self.catalog_mode:
            return DeltaTable.forName(self.spark, self.location(target))
        return DeltaTable.forPath(self.spark, self.location(target))

    def schema(self, target: TargetName) -> pa.Schema | None:
        """The table's Arrow schema (as delta_rs reports it), or ``None`` if it is missing."""
        return self._arrow_schema(target)

    def drop(self, target: TargetName) -> bool:
        """``DROP TABLE`` in catalog mode; a local path table's directory otherwise."""
        location = self.location(target)
        if not self.exists(target):
            return False
        if self.catalog_mode:
            self.spark.sql(f"DROP TABLE IF EXISTS {location}")
            return True
        return drop_local_table(target, location)

    def exists(self, target: TargetName) -> bool:
        """Whether the target is an existing Delta table."""
        location = self.location(target)
        spark = self.spark  # a missing pyspark is a ConfigError, raised here
        try:
            if self.catalog_mode:
                return bool(spark.catalog.tableExists(location))
            return bool(delta_table_class().isDeltaTable(spark, location))
        except DataLoaderError:
            raise
        except Exception as exc:
            raise destination_error(
                f"table {target}: cannot check whether {location} exists", exc,
                "Check the root/catalog is reachable from Spark.",
            ) from exc

    def _frame(self, target: TargetName) -> DataFrame:
        if self.catalog_mode:
            return self.spark.table(self.location(target))
        return self.spark.read.format("delta").load(self.location(target))

    def _arrow_schema(self, target: TargetName) -> pa.Schema | None:
        if not self.exists(target):
            return None
        return spark_schema_to_arrow(self._frame(target).schema)

    def _version(self, target: TargetName) -> int | None:
        if not self.exists(target):
            return None
        row = self._delta_table(target).history(1).select("version").first()
        return int(row[0]) if row is not None else None

    # -- writing ------------------------------------------------------------------------

    def write(
        self,
        target: TargetName,
        data: pa.RecordBatchReader,
        mode: WriteMode,
        commit: CommitInfo,
    ) -> WriteOutcome:
        """Write Arrow batches to ``target`` in exactly one commit carrying ``commit``.

        Raises:
            DestinationError: the write was refused or failed; the table is unchanged.
            ConfigError: the write mode is malformed.
        """

        def prepare(table_schema: pa.Schema | None) -> _Prepared:
            types = existing_types(table_schema)
            if isinstance(mode, Merge):
                # Materialised on purpose, exactly as delta_rs does: NULL keys are refused
                # and duplicates resolved (same function) before anything is written.
                rows = data.read_all()
                validate_merge_source(target, rows, mode)
                rows = dedup(rows, mode.keys, mode.sequence)
                if table_schema is None:
                    rows = first_load_rows(target, rows, mode)
                else:
                    # Existing table: only flag mode's column is added here; the merge
                    # itself applies the deletes.
                    rows = soft_deletes(target, rows, mode)[0]
                    check_compatible(target, table_schema, rows.schema)
                return _Prepared(frame_from_table(self.spark, rows, target, types), table_schema)
            if table_schema is not None and not isinstance(mode, Overwrite):
                check_compatible(target, table_schema, data.schema)
            frame = frame_from_reader(
                self.spark, data, target, {} if isinstance(mode, Overwrite) else types,
                staging_dir=self.staging_dir, inline_limit_bytes=self.inline_limit_bytes,
            )
            return _Prepared(frame, table_schema)

        return self._write(target, mode, commit, prepare)

    def write_dataframe(
        self, target: TargetName, df: DataFrame, mode: WriteMode, commit: CommitInfo
    ) -> WriteOutcome:
        """Write a Spark DataFrame (e.g. a JDBC read) without passing through the driver.

        Same semantics as :meth:`write`; a Merge refuses NULL keys and keeps the greatest
        sequence per key (ties: the row read last) with Spark window functions.
        """

        if isinstance(mode, Merge) and mode.delete_column:
            # Soft deletes are applied on Arrow rows (the same code as delta_rs); a
            # DataFrame written directly does not pass through them, so refuse rather than
            # give a different table.
            raise ConfigError(
                f"table {target}: soft deletes (delete_column) are not supported for "
                "DataFrames written directly; load this table through write() instead"
            )

        def prepare(table_schema: pa.Schema | None) -> _Prepared:
            from pyspark.sql import functions as F

            source_schema = spark_schema_to_arrow(df.schema)
            if table_schema is not None and not isinstance(mode, Overwrite):
                check_compatible(target, table_schema, source_schema)
            frame = df
            types = existing_types(table_schema) if not isinstance(mode, Overwrite) else {}
            casts = [
                F.col(quote_ident(f.name)).cast(
                    arrow_schema_to_spark(pa.schema([pa.field(f.name, want)]), target)[0]
                    .dataType
                ).alias(f.name)
                if (want := types.get(f.name.lower())) is not None
                and normalize_type(f.type) != want
                else F.col(quote_ident(f.name))
                for f in source_schema
            ]
            frame = frame.select(*casts)
            if isinstance(mode, Merge):
                frame = dedup_frame(target, frame, mode)
            return _Prepared(Frame(frame, -1, lambda: None), table_schema)

        return self._write(target, mode, commit, prepare)

    # -- the jdbc read path (engines.base.JdbcReader) ---------------------------------

    def jdbc_bounds(
        self, conn: JdbcConnection, bounds_table: str
    ) -> tuple[ScalarValue | None, ScalarValue | None]:
        """``min``/``max`` of a JDBC read's partition column (see ``JdbcReader``)."""
        return _spark_jdbc.jdbc_bounds(self.spark, conn, bounds_table)

    def read_jdbc(
        self, conn: JdbcConnection, window_table: str, predicates: Sequence[str]
    ) -> _spark_jdbc.SparkStagedRead:
        """A partitioned JDBC read, persisted and counted (see ``JdbcReader``)."""
        return _spark_jdbc.read_jdbc(self.spark, conn, window_table, predicates)

    def write_staged(
        self, target: TargetName, staged: StagedRead, mode: WriteMode, commit: CommitInfo,
        lineage: LineageValues,
    ) -> WriteOutcome:
        """:meth:`write_dataframe` of a staged JDBC read with its lineage columns."""
        if not isinstance(staged, _spark_jdbc.SparkStagedRead):
            raise TypeError(f"not a read this engine staged: {type(staged).__name__}")
        frame = _spark_jdbc.with_lineage_columns(staged.frame, lineage)
        return self.write_dataframe(target, frame, mode, commit)

    def _write(
        self,
        target: TargetName,
        mode: WriteMode,
        commit: CommitInfo,
        prepare: Callable[[pa.Schema | None], _Prepared],
    ) -> WriteOutcome:
        location = self.location(target)
        with table_lock(location):
            before = self._version(target)
            if before is not None:
                recorded = self._recorded_version(target, commit.app_id)
                if recorded is not None and recorded >= commit.txn_version:
                    log.info(
                        "table %s: step %d of %s already committed (recorded version %d); "
                        "replay writes nothing", target, commit.txn_version, commit.app_id,
                        recorded,
                    )
                    return WriteOutcome(0, replayed=True, delta_version=before)
            prepared: _Prepared | None = None
            try:
                # A Merge replacing an earlier incarnation's table is prepared as a first
                # load (the old table's schema does not constrain it).
                replacing = isinstance(mode, Merge) and mode.replace_existing
                prepared = prepare(self._arrow_schema(target)
                                   if before is not None and not replacing else None)
                rows = self._apply(target, prepared, mode, commit, exists=before is not None)
            except DataLoaderError:
                raise
            except Exception as exc:
                columns = prepared.frame.df.columns if prepared is not None else []
                raise write_error(
                    target, type(mode).__name__, location, exc, columns
                ) from exc
            finally:
                if prepared is not None:
                    prepared.frame.cleanup()
            after = self._version(target)
            if before is not None and after == before:
                # Delta skipped the write itself: the app transaction was already recorded
                # (e.g. by delta_rs, whose commits carry no Spark userMetadata).
                return WriteOutcome(0, replayed=True, delta_version=after)
            if rows < 0:
                rows = self._rows_of_last_commit(target)
            return WriteOutcome(rows, replayed=False, delta_version=after)

    def _writer(self, df: DataFrame, save_mode: str, commit: CommitInfo) -> DataFrameWriter:
        return (
            df.write.format("delta")
            .mode(save_mode)
            .option("txnAppId", commit.app_id)
            .option("txnVersion", str(commit.txn_version))
            .option("userMetadata", _metadata_json(commit))
        )

    def _save(self, writer: DataFrameWriter, target: TargetName) -> None:
        if self.catalog_mode:
            writer.saveAsTable(self.location(target))
        else:
            writer.save(self.location(target))

    def _ensure_schema(self, target: TargetName) -> None:
        if not self.catalog_mode:
            return
        parts = list(target.parts[:-1])
        if target.catalog is None and self.default_catalog:
            parts.insert(0, self.default_catalog)
        self.spark.sql(
            "CREATE SCHEMA IF NOT EXISTS " + ".".join(quote_ident(p) for p in parts)
        )

    def _apply(
        self, target: TargetName, prepared: _Prepared, mode: WriteMode, commit: CommitInfo,
        *, exists: bool,
    ) -> int:
        frame = prepared.frame
        # The step's rows are counted before the write here, so the commit says how many.
        commit = replace(commit, rows=frame.rows)
        if not exists:
            self._ensure_schema(target)
        if isinstance(mode, Overwrite) or (isinstance(mode, Merge) and mode.replace_existing):
            writer = self._writer(frame.df, "overwrite", commit).option("overwriteSchema", "true")
            self._save(writer, target)
            return frame.rows
        if isinstance(mode, ReplaceWhere):
            text = render_where(mode.predicate)
            if text is None:
                raise ConfigError(
                    f"table {target}: ReplaceWhere needs at least one predicate; use "
                    "Overwrite to replace the whole table"
                )
            if exists:
                # Delta deletes the matching rows and adds the new ones in one commit, and
                # refuses new rows outside the predicate (as delta_rs does).
                writer = (
                    self._writer(frame.df, "overwrite", commit)
                    .option("replaceWhere", text)
                    .option("mergeSchema", "true")
                )
                self._save(writer, target)
                return frame.rows
            # First load: nothing to replace; create the table by appending.
        if isinstance(mode, Append | ReplaceWhere) or (isinstance(mode, Merge) and not exists):
            self._save(self._writer(frame.df, "append", commit).option("mergeSchema", "true"),
                       target)
            return frame.rows
        if isinstance(mode, Merge):
            return self._merge(target, prepared, mode, commit)
        raise ConfigError(f"table {target}: unsupported write mode {mode!r}")

    def _merge(
        self, target: TargetName, prepared: _Prepared, mode: Merge, commit: CommitInfo
    ) -> int:
        from pyspark.sql import functions as F

        source = prepared.frame.df
        if prepared.frame.rows == 0:
            # An empty MERGE makes no useful commit; an empty append does, carrying the
            # metadata and app transaction (new columns are still added), like delta_rs.
            self._save(self._writer(source, "append", commit).option("mergeSchema", "true"),
                       target)
            return 0
        table_columns = prepared.table_schema.names if prepared.table_schema else []
        condition = " AND ".join(
            f"t.{quote_ident(k)} = s.{quote_ident(k)}" for k in mode.keys
        )
        guard = (
            sequence_guard(mode.sequence, table_columns) if mode.sequence is not None else None
        )
        builder = (
            self._delta_table(target).alias("t")
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
        with self._merge_confs(commit):
            result = builder.execute().collect()
        if not result:
            return 0
        row = result[0].asDict()
        return sum(int(row.get(f"num_{kind}_rows", 0) or 0)
                   for kind in ("updated", "inserted", "deleted"))

    @contextmanager
    def _merge_confs(self, commit: CommitInfo) -> Iterator[None]:
        """Set the MERGE's app transaction and metadata confs around one execute()."""
        conf = self.spark.conf
        wanted = {
            _CONF_TXN_APP: commit.app_id,
            _CONF_TXN_VERSION: str(commit.txn_version),
            _CONF_USER_METADATA: _metadata_json(commit),
        }
        with _session_conf_lock:
            previous = {key: conf.get(key, None) for key in wanted}
            try:
                for key, value in wanted.items():
                    conf.set(key, value)
                yield
            finally:
                for key, old in previous.items():
                    if old is None:
                        conf.unset(key)
                    else:
                        conf.set(key, old)

    def _rows_of_last_commit(self, target: TargetName) -> int:
        row = self._delta_table(target).history(1).select("operationMetrics").first()
        metrics: dict[str, str] = dict(row[0] or {}) if row is not None else {}
        if "numTargetRowsInserted" in metrics:
            return int(metrics["numTargetRowsInserted"]) + int(
                metrics.get("numTargetRowsUpdated", "0")
            )
        return int(metrics.get("numOutputRows", "0")) - int(metrics.get("numCopiedRows", "0"))

    # -- reading ------------------------------------------------------------------------

    def recorded_version(self, target: TargetName, app_id: str) -> int | None:
        """The version of the newest dataloader commit for ``app_id`` (from the history)."""
        return self._recorded_version(target, app_id)

    def _recorded_version(self, target: TargetName, app_id: str) -> int | None:
        info = self.last_commit(target, app_id)
        return info.txn_version if info is not None else None

    def last_commit(self, target: TargetName, app_id: str) -> CommitInfo | None:
        """Metadata of the newest dataloader commit for ``app_id``, or ``None``.

        Reads ``userMetadata`` from the Delta history (kept for
        ``delta.logRetentionDuration``, 30 days by default), newest first.
        """
        return self._find_in_history(target, app_id, limit=None)

    def newest_commit(self, target: TargetName) -> CommitInfo | None:
        """The newest dataloader commit among the table's last few versions."""
        return self._find_in_history(target, None, limit=RECENT_COMMITS)

    def _find_in_history(
        self, target: TargetName, app_id: str | None, *, limit: int | None
    ) -> CommitInfo | None:
        from pyspark.sql import functions as F

        if not self.exists(target):
            return None
        try:
            history = self._delta_table(target).history(limit) if limit else \
                self._delta_table(target).history()
            frame = history.select("version", "userMetadata")
            if app_id is not None:
                frame = frame.where(F.col("userMetadata").contains(json.dumps(app_id)))
            rows = frame.orderBy(F.col("version").desc()).collect()
        except Exception as exc:
            raise destination_error(
                f"table {target}: cannot read the Delta history", exc,
                "Check that the table's _delta_log is readable.",
            ) from exc
        return find_commit(({"userMetadata": row["userMetadata"]} for row in rows), app_id)

    def read(self, target: TargetName) -> pa.Table:
        """The whole current table, with the Arrow types delta_rs reports.

        Raises:
            DestinationError: the table does not exist.
        """
        if not self.exists(target):
            raise DestinationError(
                f"table {target} does not exist at {self.location(target)}; load it first"
            )
        df = self._frame(target)
        schema = spark_schema_to_arrow(df.schema)
        # toArrow() (pyspark >= 4.0) labels instants with the session time zone; the cast
        # to the UTC-labelled type changes only that label, never the values.
        table: pa.Table = df.toArrow()
        return table.cast(schema)

    def count(self, target: TargetName, where: tuple[Predicate, ...] = ()) -> int:
        """Rows matching ``where`` (rendered exactly as ReplaceWhere renders it)."""
        if not self.exists(target):
            return 0
        text = render_where(where)
        df = self._frame(target)
        try:
            return int((df.where(text) if text else df).count())
        except Exception as exc:
            raise destination_error(
                f"table {target}: cannot count rows", exc,
                "Check that the predicate's columns exist in the table.",
            ) from exc


    def table_files(self, target: TargetName, small_file_bytes: int) -> TableFiles | None:
        """The table's file counts from ``DESCRIBE DETAIL`` (``None``: no table)."""
        from dataloader_sdk.engines import _maintenance_spark as maint

        version = self._version(target)
        if version is None:
            return None
        return maint.table_files(self._delta_table(target), version, small_file_bytes)

    def maintain(self, target: TargetName, task: MaintenanceTask) -> MaintenanceOutcome:
        """``OPTIMIZE`` and ``VACUUM`` through delta-spark (``engines/_maintenance_spark.py``)."""
        from dataloader_sdk.engines import _maintenance_spark as maint

        if not self.exists(target):
            raise DestinationError(f"table {target} does not exist; load it first")
        with table_lock(self.location(target)):
            return maint.maintain(target, self.spark, lambda: self._delta_table(target),
                                  lambda: self._version(target), task)

    def last_commit_time(self, target: TargetName) -> datetime | None:
        """When the target's newest commit was made (UTC), or ``None`` if it is missing."""
        if not self.exists(target):
            return None
        try:
            # Epoch milliseconds: a collected timestamp would be a naive local time.
            row = (self._delta_table(target).history(1)
                   .selectExpr("unix_millis(timestamp) AS ms").first())
        except Exception as exc:
            raise destination_error(
                f"table {target}: cannot read the Delta history", exc,
                "Check that the table's _delta_log is readable.",
            ) from exc
        stamp = row[0] if row is not None else None
        if not isinstance(stamp, int):
            return None
        return datetime.fromtimestamp(stamp / 1000, tz=timezone.utc)

class SparkEngineFactory:
    """Opens :class:`SparkEngine` instances (registered as ``spark``).

    ``settings.root``: a directory/URI for path tables, or ``uc:`` / ``uc:<catalog>`` for
    catalog mode. ``settings.storage_options`` may hold ``staging_dir`` and
    ``inline_limit_mb`` (Spark takes storage credentials from its own configuration).
    """

    def open(self, settings: EngineSettings) -> SparkEngine:
        """An engine for ``settings``; no Spark session is touched until first use."""
        if not settings.root:
            raise ConfigError("engine spark: settings.root must name a directory, URI or 'uc:'")
        options = settings.storage_options
        limit = options.get("inline_limit_mb")
        inline = int(limit) * 1024 * 1024 if limit else _DEFAULT_INLINE_LIMIT
        if settings.root.startswith(CATALOG_ROOT_PREFIX):
            catalog = settings.root[len(CATALOG_ROOT_PREFIX):] or None
            return SparkEngine(catalog_mode=True, default_catalog=catalog,
                               staging_dir=options.get("staging_dir"),
                               inline_limit_bytes=inline)
        return SparkEngine(root=settings.root, staging_dir=options.get("staging_dir"),
                           inline_limit_bytes=inline)

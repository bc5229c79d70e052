"""The Spark engine class and its factory (the package docstring has the design)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import pyarrow as pa

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
)
from dataloader_sdk.engines.common.errors import counting_rows, reading_history
from dataloader_sdk.engines.common.first_merge import write_first_merge
from dataloader_sdk.engines.common.locks import table_lock
from dataloader_sdk.engines.common.merge import dedup, soft_deletes, validate_merge_source
from dataloader_sdk.engines.common.replay_safe import ReplaySafeWriter, TableAtWrite, WriteStep
from dataloader_sdk.engines.common.schema import check_compatible, normalize_type
from dataloader_sdk.engines.spark import history
from dataloader_sdk.engines.spark import jdbc as spark_jdbc
from dataloader_sdk.engines.spark.commands import Prepared, apply
from dataloader_sdk.engines.spark.errors import write_error
from dataloader_sdk.engines.spark.frames import Frame, frame_from_reader, frame_from_table
from dataloader_sdk.engines.spark.merge import dedup_frame, existing_types
from dataloader_sdk.engines.spark.settings import DEFAULT_INLINE_LIMIT, SparkSettings
from dataloader_sdk.engines.spark.sql import quote_ident, render_where
from dataloader_sdk.engines.spark.tables import SparkTables
from dataloader_sdk.engines.spark.types import arrow_schema_to_spark, spark_schema_to_arrow
from dataloader_sdk.errors import ConfigError, DataLoaderError, DestinationError
from dataloader_sdk.model import (
    CommitInfo,
    Merge,
    Overwrite,
    Predicate,
    ScalarValue,
    TargetName,
    WriteMode,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["SparkEngine", "SparkEngineFactory"]

class SparkEngine(SparkTables, ReplaySafeWriter[None]):
    """Writes Delta tables with pyspark + delta-spark (see the package docstring).

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
        inline_limit_bytes: int = DEFAULT_INLINE_LIMIT,
    ) -> None:
        settings = SparkSettings(root=root, catalog_mode=catalog_mode,
                                 default_catalog=default_catalog, staging_dir=staging_dir,
                                 inline_limit_bytes=inline_limit_bytes)
        super().__init__(spark, settings)
        self.inline_limit_bytes = settings.inline_limit_bytes
        self.staging_dir = settings.default_staging_dir

    @classmethod
    def from_settings(
        cls, settings: SparkSettings, spark: SparkSession | None = None
    ) -> SparkEngine:
        """An engine for typed ``settings`` (see :class:`SparkSettings`)."""
        return cls(spark, settings.root, catalog_mode=settings.catalog_mode,
                   default_catalog=settings.default_catalog,
                   staging_dir=settings.staging_dir,
                   inline_limit_bytes=settings.inline_limit_bytes)

    # -- writing ------------------------------------------------------------------------

    # write() is the template's (common/replay_safe.py): lock, replay check, then this.

    def _write_new(
        self, step: WriteStep, data: pa.RecordBatchReader, table: TableAtWrite[None] | None
    ) -> WriteOutcome:
        """Write Arrow batches as ``step`` says (see :meth:`_apply`)."""
        target, mode = step.target, step.mode

        def prepare(table_schema: pa.Schema | None) -> Prepared:
            types = existing_types(table_schema)
            if isinstance(mode, Merge) and table_schema is None:
                return Prepared(self._first_merge_frame(target, data, mode), None)
            if isinstance(mode, Merge):
                # Materialised on purpose, exactly as delta_rs does: NULL keys are refused
                # and duplicates resolved (same function) before anything is written.
                rows = data.read_all()
                validate_merge_source(target, rows, mode)
                rows = dedup(rows, mode.keys, mode.sequence)
                # Existing table: only flag mode's column is added here; the merge itself
                # applies the deletes.
                rows = soft_deletes(target, rows, mode)[0]
                check_compatible(target, table_schema, rows.schema)
                return Prepared(frame_from_table(self.spark, rows, target, types), table_schema)
            if table_schema is not None and not isinstance(mode, Overwrite):
                check_compatible(target, table_schema, data.schema)
            frame = frame_from_reader(
                self.spark, data, target, {} if isinstance(mode, Overwrite) else types,
                staging_dir=self.staging_dir, inline_limit_bytes=self.inline_limit_bytes,
            )
            return Prepared(frame, table_schema)

        return self._apply(step, table, prepare)

    def _first_merge_frame(
        self, target: TargetName, data: pa.RecordBatchReader, mode: Merge
    ) -> Frame:
        """The first Merge's rows streamed into a frame, as delta_rs streams them.

        ``common/first_merge.py`` checks the keys and applies soft deletes batch by batch;
        the frame spills to ``staging_dir`` past the inline limit. Repeated keys end the
        stream before Spark has written anything, and the frame is made again from the
        deduplicated spill.
        """
        frames: list[Frame] = []

        def to_frame(reader: pa.RecordBatchReader) -> None:
            frames.append(frame_from_reader(
                self.spark, reader, target, {}, staging_dir=self.staging_dir,
                inline_limit_bytes=self.inline_limit_bytes,
            ))

        # frame_from_reader removes its own staging files when the stream fails.
        write_first_merge(target, data, mode, to_frame, lambda: None)
        return frames[-1]

    def write_dataframe(
        self, target: TargetName, df: DataFrame, mode: WriteMode, commit: CommitInfo
    ) -> WriteOutcome:
        """Write a Spark DataFrame (e.g. a JDBC read) without passing through the driver.

        Same semantics as :meth:`write`; a Merge refuses NULL keys and keeps the greatest
        sequence per key (ties: the row read last) with Spark window functions. The
        commit carries no ``dataloader.rows`` (the rows are not counted before the write).
        """

        if isinstance(mode, Merge) and mode.delete_column:
            # Soft deletes are applied on Arrow rows (the same code as delta_rs); a
            # DataFrame written directly does not pass through them, so refuse rather than
            # give a different table.
            raise ConfigError(
                f"table {target}: soft deletes (delete_column) are not supported for "
                "DataFrames written directly; load this table through write() instead"
            )

        def prepare(table_schema: pa.Schema | None) -> Prepared:
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
            return Prepared(Frame(frame, -1, lambda: None), table_schema)

        step = WriteStep(target, mode, commit)
        return self._write_once(step, lambda table: self._apply(step, table, prepare))

    # -- the jdbc read path (engines.base.JdbcReader) ---------------------------------

    def jdbc_bounds(
        self, conn: JdbcConnection, bounds_table: str
    ) -> tuple[ScalarValue | None, ScalarValue | None]:
        """``min``/``max`` of a JDBC read's partition column (see ``JdbcReader``)."""
        return spark_jdbc.jdbc_bounds(self.spark, conn, bounds_table)

    def read_jdbc(
        self, conn: JdbcConnection, window_table: str, predicates: Sequence[str]
    ) -> spark_jdbc.SparkStagedRead:
        """A partitioned JDBC read, persisted and counted (see ``JdbcReader``)."""
        return spark_jdbc.read_jdbc(self.spark, conn, window_table, predicates)

    def write_staged(
        self, target: TargetName, staged: StagedRead, mode: WriteMode, commit: CommitInfo,
        lineage: LineageValues,
    ) -> WriteOutcome:
        """:meth:`write_dataframe` of a staged JDBC read with its lineage columns."""
        if not isinstance(staged, spark_jdbc.SparkStagedRead):
            raise TypeError(f"not a read this engine staged: {type(staged).__name__}")
        frame = spark_jdbc.with_lineage_columns(staged.frame, lineage)
        return self.write_dataframe(target, frame, mode, commit)

    def _table_at_write(self, target: TargetName, app_id: str) -> TableAtWrite[None] | None:
        version = self._version(target)
        if version is None:
            return None
        return TableAtWrite(None, version, self._recorded_version(target, app_id))

    def _apply(
        self,
        step: WriteStep,
        table: TableAtWrite[None] | None,
        prepare: Callable[[pa.Schema | None], Prepared],
    ) -> WriteOutcome:
        """Prepare the rows against the table's schema and run the write's command."""
        target, mode = step.target, step.mode
        before = table.version if table is not None else None
        prepared: Prepared | None = None
        try:
            # A Merge replacing an earlier incarnation's table is prepared as a first
            # load (the old table's schema does not constrain it).
            replacing = isinstance(mode, Merge) and mode.replace_existing
            prepared = prepare(self._arrow_schema(target)
                               if before is not None and not replacing else None)
            rows = apply(self, target, prepared, mode, step.commit, exists=before is not None)
        except DataLoaderError:
            raise
        except Exception as exc:
            columns = prepared.frame.df.columns if prepared is not None else []
            raise write_error(
                target, type(mode).__name__, self.location(target), exc, columns
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
            rows = history.rows_of_last_commit(self._delta_table(target))
        return WriteOutcome(rows, replayed=False, delta_version=after)

    # -- reading ------------------------------------------------------------------------

    def recorded_version(self, target: TargetName, app_id: str) -> int | None:
        """The app-transaction version recorded in the table's snapshot for ``app_id``."""
        return self._recorded_version(target, app_id)

    def _recorded_version(self, target: TargetName, app_id: str) -> int | None:
        if not self.exists(target):
            return None
        with reading_history(target):
            table = self._delta_table(target)
        return history.recorded_version(table, target, app_id)

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
        if not self.exists(target):
            return None
        with reading_history(target):
            table = self._delta_table(target)
        return history.find_in_history(table, target, app_id, limit=limit)

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
        with counting_rows(target):
            return int((df.where(text) if text else df).count())

    def table_files(self, target: TargetName, small_file_bytes: int) -> TableFiles | None:
        """The table's file counts from ``DESCRIBE DETAIL`` (``None``: no table)."""
        from dataloader_sdk.engines.spark import maintenance as maint

        version = self._version(target)
        if version is None:
            return None
        return maint.table_files(self._delta_table(target), version, small_file_bytes)

    def maintain(self, target: TargetName, task: MaintenanceTask) -> MaintenanceOutcome:
        """``OPTIMIZE``, a forced log checkpoint and ``VACUUM`` (``spark/maintenance.py``)."""
        from dataloader_sdk.engines.spark import maintenance as maint

        if not self.exists(target):
            raise DestinationError(f"table {target} does not exist; load it first")
        with table_lock(self.location(target)):
            return maint.maintain(target, self.spark, lambda: self._delta_table(target),
                                  lambda: self._version(target), task)

    def last_commit_time(self, target: TargetName) -> datetime | None:
        """When the target's newest commit was made (UTC), or ``None`` if it is missing."""
        if not self.exists(target):
            return None
        with reading_history(target):
            table = self._delta_table(target)
        return history.last_commit_time(table, target)


class SparkEngineFactory:
    """Opens :class:`SparkEngine` instances (registered as ``spark``).

    ``settings.root``: a directory/URI for path tables, or ``uc:`` / ``uc:<catalog>`` for
    catalog mode. ``settings.storage_options`` may hold ``staging_dir`` and
    ``inline_limit_mb``, parsed by :meth:`SparkSettings.parse` (Spark takes storage
    credentials from its own configuration).
    """

    def open(self, settings: EngineSettings) -> SparkEngine:
        """An engine for ``settings``; no Spark session is touched until first use.

        Raises:
            ConfigError: the root is empty or an engine option is malformed.
        """
        return SparkEngine.from_settings(SparkSettings.parse(settings))

"""The embedded Delta engine: delta-rs through the ``deltalake`` package, no JVM.

Each :meth:`DeltaRsEngine.write` is exactly one Delta commit that carries the step's
:class:`~dataloader_sdk.model.CommitInfo` as custom commit metadata and a Delta app
transaction ``(commit.app_id, commit.txn_version)``. delta-rs records app transactions
but does not skip replays, so the engine reads the recorded version first and turns a
replay into a no-op. Writes to one table are serialised by a per-table lock within the
process; across processes the control DB's lease keeps one writer per table.

Every write first reads up to 8 MiB of the step ahead (``_staging``): a step that ends
within it carries its exact row count in the commit metadata (``dataloader.rows``); a
bigger one streams on and leaves the count to Delta's ``operationMetrics``. A write that
fails after delta-rs wrote files but before its commit (a source error, a refused read,
a cancel) has those files removed (``_orphans`` says which files are safe to remove, and
why).

Memory: Overwrite, Append and ReplaceWhere stream the rows into delta-rs (one
batch alive at a time, plus delta-rs's own Parquet write buffers). A Merge into an
existing table materialises the step's rows, because NULL keys must be refused and
duplicates removed before anything is written; a Merge into a table without rows streams
(rows spilled to disk in case keys repeat; see ``_first_merge``). An
error the source raises while delta-rs pulls from it is re-raised as itself.

delta-rs streams each Parquet file out in 5 MiB parts, but holds the open row group in
memory until it reaches ``max_row_group_size`` (1,048,576 rows by default: most of a
1M-row table). Every write and merge therefore passes :func:`writer_properties`, whose
small row groups bound the writers' buffers and the merge's rewrite of touched files, and
new tables get :data:`TARGET_FILE_SIZE` as ``delta.targetFileSize``, the file size merges
use. Peak memory does not grow with the table (benchmarks/, docs/benchmarks.md).

See docs/engines.md for the exact semantics of each write mode.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Literal

import pyarrow as pa
from deltalake import (
    CommitProperties,
    DeltaTable,
    QueryBuilder,
    Transaction,
    WriterProperties,
    write_deltalake,
)

from dataloader_sdk.engines._common import destination_error, table_lock
from dataloader_sdk.engines._drop import drop_local_table
from dataloader_sdk.engines._first_merge import write_first_merge
from dataloader_sdk.engines._merge import (
    SOURCE_ALIAS,
    TARGET_ALIAS,
    column_map,
    dedup,
    delete_flag_sql,
    drop_stale,
    merge_condition,
    sequence_guard,
    soft_deletes,
    validate_merge_source,
)
from dataloader_sdk.engines._orphans import data_files, inflight, remove_orphans
from dataloader_sdk.engines._paths import check_delta_rs_root, table_path
from dataloader_sdk.engines._predicates import render_where
from dataloader_sdk.engines._schema import check_compatible, new_columns
from dataloader_sdk.engines._staging import PrefetchedRows
from dataloader_sdk.engines._streams import CountedStream
from dataloader_sdk.engines.base import (
    RECENT_COMMITS,
    EngineSettings,
    MaintenanceOutcome,
    MaintenanceTask,
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
    TargetName,
    WriteMode,
)

__all__ = [
    "MAX_ROW_GROUP_ROWS",
    "TARGET_FILE_SIZE",
    "DeltaRsEngine",
    "DeltaRsEngineFactory",
    "table_properties",
    "table_uri",
    "writer_properties",
]

log = logging.getLogger(__name__)

#: Bytes after which delta-rs closes a Parquet file and starts the next one. delta-rs's
#: default is 100 MiB. Also stored as the table property ``delta.targetFileSize`` when the
#: engine creates a table, because merges take their file size from that property.
TARGET_FILE_SIZE = 32 * 1024 * 1024
#: Rows per Parquet row group (delta-rs's default is 1,048,576). The writer holds the open
#: row group in memory, and a merge rewrites whole files row group by row group, so this
#: bounds the memory of every write (docs/benchmarks.md has the measurements).
MAX_ROW_GROUP_ROWS = 16_384


def writer_properties() -> WriterProperties:
    """The Parquet writer properties of every write and merge (see the module docstring)."""
    return WriterProperties(max_row_group_size=MAX_ROW_GROUP_ROWS)


def table_properties() -> dict[str, str | None]:
    """Delta table properties set when the engine creates a table (ignored afterwards)."""
    return {"delta.targetFileSize": str(TARGET_FILE_SIZE)}


def table_uri(root: str, target: TargetName) -> str:
    """Where ``target`` lives under ``root``: ``root/[catalog/]schema/table``.

    Raises:
        ConfigError: a part of ``target`` is not one safe path segment (``..``, ``/``,
            empty, control characters), so the path would leave the root.
    """
    return table_path(root, target)


def _commit_metadata(commit: CommitInfo) -> dict[str, str]:
    """The commit's metadata as top-level keys, and as JSON in ``userMetadata``, the field
    Spark's ``DESCRIBE HISTORY`` shows (so the Spark engine can roll forward from it)."""
    meta = commit.to_metadata()
    return {**meta, "userMetadata": json.dumps(meta, sort_keys=True)}


class DeltaRsEngine:
    """Writes Delta tables under one root with delta-rs (see the module docstring).

    Args:
        settings: the root directory or object-store URI, and storage options.

    Raises:
        ConfigError: the root is not an absolute directory or a URI delta-rs can write
            (a Unity Catalog name such as ``uc:main`` needs the spark engine).
    """

    name = "delta_rs"

    def __init__(self, settings: EngineSettings) -> None:
        check_delta_rs_root(settings.root)
        self.settings = settings
        self._storage = dict(settings.storage_options) or None

    # -- locating and loading ---------------------------------------------------------

    def uri(self, target: TargetName) -> str:
        """The table's location."""
        return table_uri(self.settings.root, target)

    def _load(self, target: TargetName) -> DeltaTable | None:
        uri = self.uri(target)
        try:
            if not DeltaTable.is_deltatable(uri, storage_options=self._storage):
                return None
            return DeltaTable(uri, storage_options=self._storage)
        except Exception as exc:
            raise destination_error(
                f"table {target}: cannot open the Delta table at {uri}", exc,
                "Check that the engine root is reachable and the storage options are right.",
            ) from exc

    def exists(self, target: TargetName) -> bool:
        """Whether the target table exists."""
        return self._load(target) is not None

    def schema(self, target: TargetName) -> pa.Schema | None:
        """The table's Arrow schema from its Delta log, or ``None`` if it is missing."""
        table = self._load(target)
        return _arrow_schema(table) if table is not None else None

    def drop(self, target: TargetName) -> bool:
        """Delete a local target table's directory (see ``engines/_drop.py``)."""
        uri = self.uri(target)
        with table_lock(uri):
            return drop_local_table(target, uri)

    # -- writing ----------------------------------------------------------------------

    def write(
        self,
        target: TargetName,
        data: pa.RecordBatchReader,
        mode: WriteMode,
        commit: CommitInfo,
    ) -> WriteOutcome:
        """Write ``data`` to ``target`` in exactly one commit carrying ``commit``.

        Args:
            target: the Delta table.
            data: the step's rows; consumed at most once, not at all on a replay.
            mode: Overwrite, Append, Merge or ReplaceWhere.
            commit: metadata and app transaction of the commit.

        Returns:
            Rows written (inserted + updated for a Merge), whether it was a replay, and
            the table version after the write.

        Raises:
            DestinationError: the write was refused or failed; the table is unchanged.
                :class:`DestinationTransientError` when retrying can succeed (disk full,
                permission denied, a concurrent writer committed first).
            ConfigError: the write mode is malformed (e.g. ReplaceWhere without
                predicate), or the target's path would leave the root.
        """
        uri = self.uri(target)
        with table_lock(uri):
            table = self._load(target)
            if table is not None:
                recorded = table.transaction_version(commit.app_id)
                if recorded is not None and recorded >= commit.txn_version:
                    log.info(
                        "table %s: step %d of %s already committed (recorded version %d); "
                        "replay writes nothing",
                        target,
                        commit.txn_version,
                        commit.app_id,
                        recorded,
                    )
                    return WriteOutcome(0, replayed=True, delta_version=table.version())
            # Read ahead to count the step (see the module docstring); an error or a
            # cancel raised while reading ahead propagates from here, before any write.
            ahead = PrefetchedRows(data)
            props = CommitProperties(
                custom_metadata=_commit_metadata(replace(commit, rows=ahead.rows)),
                app_transactions=[Transaction(commit.app_id, commit.txn_version)],
            )
            source = CountedStream(ahead.reader())
            before = data_files(uri)
            try:
                with inflight(lambda: self._remove_orphans(target, uri, before)):
                    rows = self._write(target, uri, table, source, mode, props)
            except BaseException as exc:
                self._remove_orphans(target, uri, before)
                if isinstance(exc, DataLoaderError) or not isinstance(exc, Exception):
                    raise
                if source.error is not None:
                    # A check on the rows failed while delta-rs pulled them: report
                    # that error, not delta-rs's.
                    raise source.error from None
                raise destination_error(
                    f"table {target}: delta-rs failed to write ({type(mode).__name__})",
                    exc,
                    "The table is unchanged; fix the cause and run the table again (the "
                    "step will be retried with the same version).",
                ) from exc
            after = self._load(target)
            return WriteOutcome(
                rows, replayed=False, delta_version=after.version() if after else None
            )

    def _remove_orphans(self, target: TargetName, uri: str, before: set[str] | None) -> None:
        """After a failed write: remove the files it left that no version uses."""
        try:
            table = self._load(target)
            referenced: set[str] = set()
            if table is not None:
                actions = pa.RecordBatchReader.from_stream(
                    table.get_add_actions(flatten=True)).read_all()
                referenced = {str(p) for p in actions.column("path").to_pylist()}
            remove_orphans(uri, before, referenced)
        except Exception as exc:  # cleanup must never hide the write's own error
            log.warning("table %s: could not remove the files of the failed write: %s",
                        target, exc)

    def _write(
        self,
        target: TargetName,
        uri: str,
        table: DeltaTable | None,
        source: CountedStream,
        mode: WriteMode,
        props: CommitProperties,
    ) -> int:
        if isinstance(mode, Overwrite):
            # schema_mode="overwrite": a full load defines the table's schema anew.
            self._write_deltalake(
                table or uri, source.reader, mode="overwrite", schema_mode="overwrite",
                props=props,
            )
            return source.rows
        if isinstance(mode, Append):
            return self._append(target, uri, table, source, props)
        if isinstance(mode, ReplaceWhere):
            return self._replace_where(target, uri, table, source, mode.predicate, props)
        if isinstance(mode, Merge):
            return self._merge(target, uri, table, source.reader, mode, props)
        raise ConfigError(f"table {target}: unsupported write mode {mode!r}")

    def _write_deltalake(
        self,
        where: DeltaTable | str,
        data: pa.RecordBatchReader | pa.Table,
        *,
        mode: Literal["append", "overwrite"],
        props: CommitProperties,
        schema_mode: Literal["merge", "overwrite"] = "merge",
        predicate: str | None = None,
    ) -> None:
        creating = isinstance(where, str)
        storage = self._storage if creating else None
        configuration = table_properties() if creating else None
        if mode == "append":
            write_deltalake(
                where,
                data,
                mode="append",
                schema_mode=schema_mode,
                commit_properties=props,
                storage_options=storage,
                configuration=configuration,
                target_file_size=TARGET_FILE_SIZE,
                writer_properties=writer_properties(),
            )
        else:
            write_deltalake(
                where,
                data,
                mode="overwrite",
                schema_mode=schema_mode,
                predicate=predicate,
                commit_properties=props,
                storage_options=storage,
                configuration=configuration,
                target_file_size=TARGET_FILE_SIZE,
                writer_properties=writer_properties(),
            )

    def _append(
        self,
        target: TargetName,
        uri: str,
        table: DeltaTable | None,
        data: CountedStream | pa.Table,
        props: CommitProperties,
    ) -> int:
        rows = data if isinstance(data, pa.Table) else data.reader
        if table is not None:
            check_compatible(target, _arrow_schema(table), rows.schema)
        # An empty reader still produces a commit (verified with deltalake 1.6.6), which
        # carries the metadata and app transaction so the control state can roll forward.
        self._write_deltalake(table or uri, rows, mode="append", props=props)
        return int(data.num_rows) if isinstance(data, pa.Table) else data.rows

    def _replace_where(
        self,
        target: TargetName,
        uri: str,
        table: DeltaTable | None,
        source: CountedStream,
        predicate: tuple[Predicate, ...],
        props: CommitProperties,
    ) -> int:
        text = render_where(predicate)
        if text is None:
            raise ConfigError(
                f"table {target}: ReplaceWhere needs at least one predicate; use Overwrite "
                "to replace the whole table"
            )
        if table is None:
            # First load: there is nothing to replace, so create the table by appending.
            return self._append(target, uri, None, source, props)
        check_compatible(target, _arrow_schema(table), source.reader.schema)
        # delta-rs deletes the rows matching the predicate and adds the new ones in one
        # commit; it refuses new rows that do not match the predicate.
        self._write_deltalake(table, source.reader, mode="overwrite", predicate=text, props=props)
        return source.rows

    def _merge(
        self,
        target: TargetName,
        uri: str,
        table: DeltaTable | None,
        data: pa.RecordBatchReader,
        mode: Merge,
        props: CommitProperties,
    ) -> int:
        if table is None or mode.replace_existing or not table.file_uris():
            # No target rows (or none to keep): nothing to match, so no merge is needed.
            return self._first_merge(target, uri, table, data, mode, props)
        # Materialised on purpose: NULL keys are refused and duplicates resolved before
        # anything is written.
        rows = data.read_all()
        validate_merge_source(target, rows, mode)
        rows = dedup(rows, mode.keys, mode.sequence)
        table_schema = _arrow_schema(table)
        check_compatible(target, table_schema, rows.schema)
        if mode.sequence is not None and new_columns(table_schema, rows.schema):
            rows = drop_stale(rows, table.to_pyarrow_dataset(), mode.keys, mode.sequence)
        rows, deleted = soft_deletes(target, rows, mode)
        if rows.num_rows == 0:
            # delta-rs makes no commit for a merge of zero rows; an empty append does, and
            # leaves the data unchanged (new columns are still added).
            self._write_deltalake(table, rows, mode="append", props=props)
            return 0
        guard = (
            sequence_guard(mode.sequence, table_schema.names) if mode.sequence is not None else None
        )
        merger = table.merge(
            rows,
            predicate=merge_condition(mode.keys),
            source_alias=SOURCE_ALIAS,
            target_alias=TARGET_ALIAS,
            merge_schema=True,
            writer_properties=writer_properties(),
            # The rows are materialised already. Passing them whole (deltalake's default
            # streams them) lets delta-rs prune target files by the source's key range, so
            # a merge of recent keys reads and rewrites only the files that hold them.
            streamed_exec=False,
            commit_properties=props,
        )
        if deleted is not None:
            # Hard deletes: the first matching clause wins, so the delete comes first and
            # carries the same sequence guard as the update.
            flag = delete_flag_sql(mode)
            merger = merger.when_matched_delete(
                predicate=f"({guard}) AND {flag}" if guard else flag
            )
            insert_when: str | None = f"NOT {flag}"
        else:
            insert_when = None
        # Explicit column maps, not update_all/insert_all: deltalake builds those with
        # unescaped backticks, so a column named a`b broke every merge. The maps name the
        # source's columns only, as update_all did: an updated row keeps its target values
        # in columns the source lacks (e.g. older lineage), an inserted row gets NULL there.
        columns = column_map(rows.column_names)
        metrics: dict[str, Any] = (
            merger.when_matched_update(updates=columns, predicate=guard)
            .when_not_matched_insert(updates=columns, predicate=insert_when)
            .execute()
        )
        return sum(
            int(metrics.get(f"num_target_rows_{kind}", 0))
            for kind in ("inserted", "updated", "deleted")
        )

    def _first_merge(
        self,
        target: TargetName,
        uri: str,
        table: DeltaTable | None,
        data: pa.RecordBatchReader,
        mode: Merge,
        props: CommitProperties,
    ) -> int:
        """A Merge into a missing or empty table, or one replacing an earlier
        incarnation's table: one streamed append or overwrite (``_first_merge``)."""
        replacing = table is not None and mode.replace_existing
        where: DeltaTable | str = table if table is not None else uri
        how: Literal["append", "overwrite"] = "overwrite" if replacing else "append"
        existing = _arrow_schema(table) if table is not None and not replacing else None

        def write(reader: pa.RecordBatchReader) -> None:
            if existing is not None:  # an empty table: its columns must still fit
                check_compatible(target, existing, reader.schema)
            self._write_deltalake(where, reader, mode=how, props=props,
                                  schema_mode="overwrite" if replacing else "merge")

        before = data_files(uri)
        return write_first_merge(target, data, mode, write,
                                 lambda: self._remove_orphans(target, uri, before))

    # -- maintenance (engines/_maintenance_delta_rs.py) --------------------------------

    def table_files(self, target: TargetName, small_file_bytes: int) -> TableFiles | None:
        """The table's data-file counts from its snapshot (``None``: no table)."""
        from dataloader_sdk.engines import _maintenance_delta_rs as maint

        table = self._load(target)
        return maint.table_files(table, small_file_bytes) if table is not None else None

    def maintain(self, target: TargetName, task: MaintenanceTask) -> MaintenanceOutcome:
        """Compact, checkpoint and/or vacuum (see ``engines/_maintenance_delta_rs.py``).

        Holds the table's in-process lock, so it never interleaves with this process's
        loads of the table; other processes' loads are handled by commit conflicts.
        """
        from dataloader_sdk.engines import _maintenance_delta_rs as maint

        with table_lock(self.uri(target)):
            return maint.maintain(target, lambda: self._require(target), task,
                                  target_file_bytes=TARGET_FILE_SIZE,
                                  writer_properties=writer_properties())

    # -- reading ----------------------------------------------------------------------

    def last_commit(self, target: TargetName, app_id: str) -> CommitInfo | None:
        """Metadata of the newest dataloader commit for ``app_id``, or ``None``.

        Reads the table history, which Delta keeps for ``delta.logRetentionDuration``
        (30 days by default); older commits are no longer visible.
        """
        table = self._load(target)
        if table is None:
            return None
        try:
            history = table.history()
        except Exception as exc:
            raise destination_error(
                f"table {target}: cannot read the Delta history", exc,
                "Check that the table's _delta_log is readable.",
            ) from exc
        return find_commit(history, app_id)  # history() lists the newest commit first

    def newest_commit(self, target: TargetName) -> CommitInfo | None:
        """The newest dataloader commit among the table's last few versions."""
        table = self._load(target)
        if table is None:
            return None
        try:
            history = table.history(limit=RECENT_COMMITS)
        except Exception as exc:
            raise destination_error(
                f"table {target}: cannot read the Delta history", exc,
                "Check that the table's _delta_log is readable.",
            ) from exc
        return find_commit(history, None)

    def recorded_version(self, target: TargetName, app_id: str) -> int | None:
        """The app-transaction version recorded in the table's snapshot for ``app_id``."""
        table = self._load(target)
        if table is None:
            return None
        version: int | None = table.transaction_version(app_id)
        return version

    def read(self, target: TargetName) -> pa.Table:
        """The whole current table.

        Raises:
            DestinationError: the table does not exist.
        """
        table = self._require(target)
        return table.to_pyarrow_table()

    def count(self, target: TargetName, where: tuple[Predicate, ...] = ()) -> int:
        """Rows matching ``where`` (rendered exactly as ReplaceWhere renders it)."""
        table = self._load(target)
        if table is None:
            return 0
        text = render_where(where)
        # The SQL holds quoted identifiers and literals rendered from typed values only.
        sql = "SELECT COUNT(*) AS n FROM t" + (f" WHERE {text}" if text else "")  # noqa: S608
        try:
            result = QueryBuilder().register("t", table).execute(sql).read_all()
        except Exception as exc:
            raise destination_error(
                f"table {target}: cannot count rows", exc,
                "Check that the predicate's columns exist in the table.",
            ) from exc
        # Through the Arrow stream interface: pa.table() on a foreign object would make
        # pyarrow import pandas to check whether it is a DataFrame.
        counted = pa.RecordBatchReader.from_stream(result).read_all()
        value: object = counted.column(0)[0].as_py()
        return int(value) if isinstance(value, int) else 0

    def _require(self, target: TargetName) -> DeltaTable:
        table = self._load(target)
        if table is None:
            raise DestinationError(
                f"table {target} does not exist at {self.uri(target)}; load it first"
            )
        return table


    def last_commit_time(self, target: TargetName) -> datetime | None:
        """When the target's newest commit was made (UTC), or ``None`` if it is missing."""
        table = self._load(target)
        if table is None:
            return None
        try:
            entries = table.history(1)
        except Exception as exc:
            raise destination_error(
                f"table {target}: cannot read the Delta history", exc,
                "Check that the table's _delta_log is readable.",
            ) from exc
        stamp = entries[0].get("timestamp") if entries else None
        if not isinstance(stamp, int):
            return None
        # Delta commit timestamps are milliseconds since the epoch.
        return datetime.fromtimestamp(stamp / 1000, tz=timezone.utc)

def _arrow_schema(table: DeltaTable) -> pa.Schema:
    # DeltaTable.schema().to_arrow() returns an arro3 schema; pyarrow imports it through
    # the Arrow PyCapsule interface.
    return pa.schema(table.schema().to_arrow())


class DeltaRsEngineFactory:
    """Opens :class:`DeltaRsEngine` instances (registered as ``delta_rs``)."""

    def open(self, settings: EngineSettings) -> DeltaRsEngine:
        """An engine writing under ``settings.root``; touches no storage until used."""
        if not settings.root:
            raise ConfigError("engine delta_rs: settings.root must name a directory or URI")
        return DeltaRsEngine(settings)

"""The delta-rs engine class and its factory (the package docstring has the design)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, QueryBuilder, Transaction

from dataloader_sdk.engines.base import (
    RECENT_COMMITS,
    EngineSettings,
    MaintenanceOutcome,
    MaintenanceTask,
    TableFiles,
    WriteOutcome,
    find_commit,
)
from dataloader_sdk.engines.common.drop import drop_local_table
from dataloader_sdk.engines.common.errors import (
    counting_rows,
    destination_error,
    failures_as_destination_errors,
    reading_history,
)
from dataloader_sdk.engines.common.locks import table_lock
from dataloader_sdk.engines.common.predicates import render_where
from dataloader_sdk.engines.common.replay_safe import ReplaySafeWriter, TableAtWrite, WriteStep
from dataloader_sdk.engines.common.streams import CountedStream
from dataloader_sdk.engines.delta_rs import tuning
from dataloader_sdk.engines.delta_rs.markers import maintenance_in_flight
from dataloader_sdk.engines.delta_rs.orphans import (
    WriteStart,
    inflight,
    local_dir,
    remove_orphans,
)
from dataloader_sdk.engines.delta_rs.paths import check_delta_rs_root, table_path
from dataloader_sdk.engines.delta_rs.recent import RecentCommits, WriteHandles
from dataloader_sdk.engines.delta_rs.staging import PrefetchedRows
from dataloader_sdk.engines.delta_rs.writes import ModeWriter, arrow_schema
from dataloader_sdk.errors import ConfigError, DataLoaderError, DestinationError
from dataloader_sdk.model import CommitInfo, Predicate, TargetName

__all__ = ["DeltaRsEngine", "DeltaRsEngineFactory", "table_uri"]

log = logging.getLogger(__name__)


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


class DeltaRsEngine(ReplaySafeWriter[DeltaTable]):
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
        self._recent = RecentCommits()
        self._handles = WriteHandles()

    # -- locating and loading ---------------------------------------------------------

    def location(self, target: TargetName) -> str:
        """The table's URI (see :func:`table_uri`)."""
        return table_uri(self.settings.root, target)

    uri = location  # the name this engine's callers and tests know

    def _load(self, target: TargetName) -> DeltaTable | None:
        uri = self.location(target)
        with failures_as_destination_errors(
            f"table {target}: cannot open the Delta table at {uri}",
            "Check that the engine root is reachable and the storage options are right.",
        ):
            if not DeltaTable.is_deltatable(uri, storage_options=self._storage):
                return None
            return DeltaTable(uri, storage_options=self._storage)

    def exists(self, target: TargetName) -> bool:
        """Whether the target table exists."""
        return self._load(target) is not None

    def schema(self, target: TargetName) -> pa.Schema | None:
        """The table's Arrow schema from its Delta log, or ``None`` if it is missing."""
        table = self._load(target)
        return arrow_schema(table) if table is not None else None

    def drop(self, target: TargetName) -> bool:
        """Delete a local target table's directory (see ``engines/common/drop.py``)."""
        uri = self.location(target)
        with table_lock(uri):
            self._recent.forget(uri)
            self._handles.forget(uri)
            return drop_local_table(target, uri)

    # -- writing ----------------------------------------------------------------------

    # write() is the template's (common/replay_safe.py): lock, replay check, then this.

    def _table_at_write(self, target: TargetName, app_id: str) -> TableAtWrite[DeltaTable] | None:
        # The last write's handle brought up to date when it is kept (under the lock).
        table = self._handles.take(self.location(target)) or self._load(target)
        if table is None:
            return None
        return TableAtWrite(table, table.version(), table.transaction_version(app_id))

    def _write_new(
        self, step: WriteStep, data: pa.RecordBatchReader, table: TableAtWrite[DeltaTable] | None
    ) -> WriteOutcome:
        target, mode, commit = step.target, step.mode, step.commit
        uri = self.location(target)
        # Read ahead to count the step (see the module docstring); an error or a
        # cancel raised while reading ahead propagates from here, before any write.
        ahead = PrefetchedRows(data)
        props = CommitProperties(
            custom_metadata=(metadata := _commit_metadata(replace(commit, rows=ahead.rows))),
            app_transactions=[Transaction(commit.app_id, commit.txn_version)],
        )
        # Each column's encoding is chosen from the rows read ahead (delta_rs/tuning.py).
        parquet = tuning.writer_properties(ahead.sample(tuning.MAX_ROW_GROUP_ROWS))
        source = CountedStream(ahead.reader())
        # A clock reading, not a listing of the data files (which grew with the files on
        # disk until a vacuum): a failure's cleanup lists once (delta_rs/orphans.py).
        start = WriteStart.now()

        def cleanup() -> None:
            self._remove_orphans(target, uri, start, source)

        try:
            with inflight(cleanup):
                # A step read ahead whole is small: its first Merge keeps a copy of its
                # rows rather than read them again (its commit counted this read's rows).
                writer = ModeWriter(target, uri, table.handle if table else None, self._storage,
                                    props, cleanup,
                                    None if ahead.complete else step.read_again,
                                    parquet)
                rows = writer.write(mode, source)
        except BaseException as exc:
            cleanup()
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
        return WriteOutcome(rows, replayed=False,
                            delta_version=self._after_write(target, table, metadata))

    def _after_write(self, target: TargetName, table: TableAtWrite[DeltaTable] | None,
                     metadata: Mapping[str, str]) -> int | None:
        """The table's version after a write, and (when that version is this write's
        commit) the newest dataloader commit for the next run's reconcile, which then
        opens no table (``delta_rs/recent.py``)."""
        after = table.handle if table is not None else self._load(target)
        if after is None:
            return None
        if table is not None and after.version() == table.version:
            # A write through a handle advances it to the commit it made (deltalake
            # 1.6.6, every mode: tests/unit/test_engine_delta_rs_log.py), so this only
            # runs should one not; each update lists the whole _delta_log/.
            after.update_incremental()
        version: int = after.version()
        if version == (table.version + 1 if table is not None else 0):
            # Exactly one commit since the snapshot the write started from (or the table's
            # first, when there was none), and the write committed: it is this one (what
            # reading the history would parse from it). A batch's first load thus leaves
            # the next run's reconcile nothing to open.
            self._recent.keep(self.location(target), version,
                              CommitInfo.from_metadata(metadata))
        self._handles.give(self.location(target), after)
        return version

    def _remove_orphans(self, target: TargetName, uri: str, start: WriteStart,
                        source: CountedStream) -> None:
        """After a failed write: remove the files it left that no version uses."""

        def referenced() -> set[str]:
            table = self._load(target)
            if table is None:
                return set()
            actions = pa.RecordBatchReader.from_stream(
                table.get_add_actions(flatten=True)).read_all()
            return {str(p) for p in actions.column("path").to_pylist()}

        try:
            remove_orphans(uri, start, referenced, pulled=source.pulled)
        except Exception as exc:  # cleanup must never hide the write's own error
            log.warning("table %s: could not remove the files of the failed write: %s",
                        target, exc)

    # -- maintenance (delta_rs/maintenance.py) ------------------------------------------

    def table_files(self, target: TargetName, small_file_bytes: int) -> TableFiles | None:
        """The table's data-file counts from its snapshot (``None``: no table)."""
        from dataloader_sdk.engines.delta_rs import maintenance as maint

        uri = self.location(target)
        with table_lock(uri):
            # The last write's handle when kept: the loader asks right after a load, and
            # opening the table lists its whole _delta_log/ twice (is_deltatable, then
            # the load), 20-30 ms once it holds 1,000 commits.
            table = self._handles.take(uri)
            if table is not None:
                try:
                    return maint.table_files(table, small_file_bytes)
                finally:
                    self._handles.give(uri, table)
        table = self._load(target)
        return maint.table_files(table, small_file_bytes) if table is not None else None

    def maintain(self, target: TargetName, task: MaintenanceTask) -> MaintenanceOutcome:
        """Compact, checkpoint and/or vacuum (see ``delta_rs/maintenance.py``).

        Holds the table's in-process lock, so it never interleaves with this process's
        loads of the table; other processes' loads are handled by commit conflicts.
        """
        from dataloader_sdk.engines.delta_rs import maintenance as maint

        uri = self.location(target)
        # The marker keeps a failed load in another process from taking the pass's
        # uncommitted files for its own (delta_rs/markers.py); a dry run writes nothing.
        marked = None if task.dry_run else local_dir(uri)
        with table_lock(uri), maintenance_in_flight(marked):
            return maint.maintain(target, lambda: self._require(target), task,
                                  target_file_bytes=tuning.TARGET_FILE_SIZE,
                                  writer_properties=tuning.writer_properties())

    # -- reading ----------------------------------------------------------------------

    def _history(self, target: TargetName, limit: int | None) -> list[dict[str, Any]] | None:
        """The table's commits, newest first (``None``: no table)."""
        table = self._load(target)
        if table is None:
            return None
        with reading_history(target):
            history: list[dict[str, Any]] = table.history(limit)
        return history

    def last_commit(self, target: TargetName, app_id: str) -> CommitInfo | None:
        """Metadata of the newest dataloader commit for ``app_id``, or ``None``.

        Reads the table history, which Delta keeps for ``delta.logRetentionDuration``
        (30 days by default); older commits are no longer visible.
        """
        history = self._history(target, None)
        return find_commit(history, app_id) if history is not None else None

    def newest_commit(self, target: TargetName) -> CommitInfo | None:
        """The newest dataloader commit among the table's last few versions (kept while
        a local table's log stands still: ``delta_rs/recent.py``)."""
        uri = self.uri(target)
        kept, newest = self._recent.lookup(uri)
        if kept:
            return newest
        table = self._load(target)
        if table is None:
            return None
        with reading_history(target):
            newest = find_commit(table.history(RECENT_COMMITS), None)
        self._recent.keep(uri, table.version(), newest)
        return newest

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
        # Scanned without pyarrow's thread pool: after DeltaTable.to_pyarrow_table() (a
        # threaded scan) a process aborted at exit ("terminate called without an active
        # exception", SIGABRT) in 20 of 30 runs (deltalake 1.6.6, pyarrow 26;
        # apache/arrow#34314), and 0 of 30 scanned this way.
        return table.to_pyarrow_dataset().to_table(use_threads=False)

    def count(self, target: TargetName, where: tuple[Predicate, ...] = ()) -> int:
        """Rows matching ``where`` (rendered exactly as ReplaceWhere renders it)."""
        table = self._load(target)
        if table is None:
            return 0
        text = render_where(where)
        # The SQL holds quoted identifiers and literals rendered from typed values only.
        sql = "SELECT COUNT(*) AS n FROM t" + (f" WHERE {text}" if text else "")  # noqa: S608
        with counting_rows(target):
            result = QueryBuilder().register("t", table).execute(sql).read_all()
        # Through the Arrow stream interface: pa.table() on a foreign object would make
        # pyarrow import pandas to check whether it is a DataFrame.
        counted = pa.RecordBatchReader.from_stream(result).read_all()
        value: object = counted.column(0)[0].as_py()
        return int(value) if isinstance(value, int) else 0

    def _require(self, target: TargetName) -> DeltaTable:
        table = self._load(target)
        if table is None:
            raise DestinationError(
                f"table {target} does not exist at {self.location(target)}; load it first"
            )
        return table

    def last_commit_time(self, target: TargetName) -> datetime | None:
        """When the target's newest commit was made (UTC), or ``None`` if it is missing."""
        entries = self._history(target, 1)
        stamp = entries[0].get("timestamp") if entries else None
        if not isinstance(stamp, int):
            return None
        # Delta commit timestamps are milliseconds since the epoch.
        return datetime.fromtimestamp(stamp / 1000, tz=timezone.utc)


class DeltaRsEngineFactory:
    """Opens :class:`DeltaRsEngine` instances (registered as ``delta_rs``)."""

    def open(self, settings: EngineSettings) -> DeltaRsEngine:
        """An engine writing under ``settings.root``; touches no storage until used."""
        if not settings.root:
            raise ConfigError("engine delta_rs: settings.root must name a directory or URI")
        return DeltaRsEngine(settings)

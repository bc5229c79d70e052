"""One delta-rs write of each write mode, as :meth:`DeltaRsEngine.write` runs it.

A :class:`ModeWriter` is made per write, under the table's lock, with the table as it was
loaded before the write; it turns the step's counted stream into exactly one commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa
from deltalake import (
    CommitProperties,
    DeltaTable,
    PostCommitHookProperties,
    WriterProperties,
    write_deltalake,
)

from dataloader_sdk.engines.base import ReadAgain
from dataloader_sdk.engines.common.first_merge import write_first_merge
from dataloader_sdk.engines.common.merge import (
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
from dataloader_sdk.engines.common.predicates import render_where
from dataloader_sdk.engines.common.schema import check_compatible, new_columns
from dataloader_sdk.engines.common.streams import CountedStream
from dataloader_sdk.engines.delta_rs import tuning
from dataloader_sdk.errors import ConfigError
from dataloader_sdk.model import Append, Merge, Overwrite, Predicate, ReplaceWhere, TargetName, WriteMode

__all__ = ["CHECKPOINT_INTERVAL_PROPERTY", "ModeWriter", "arrow_schema", "post_commit_hooks"]

#: The Delta table property of the commits between two log checkpoints (default 100).
CHECKPOINT_INTERVAL_PROPERTY = "delta.checkpointInterval"
_DEFAULT_CHECKPOINT_INTERVAL = 100


def arrow_schema(table: DeltaTable) -> pa.Schema:
    """The table's Arrow schema from its Delta log."""
    # DeltaTable.schema().to_arrow() returns an arro3 schema; pyarrow imports it through
    # the Arrow PyCapsule interface.
    return pa.schema(table.schema().to_arrow())


def post_commit_hooks(table: DeltaTable | None) -> PostCommitHookProperties:
    """What delta-rs runs after this write's commit: its checkpoint every
    ``delta.checkpointInterval`` commits as always, and the expired-log cleanup only
    with that commit, as Delta (Spark) cleans up after a checkpoint.

    Why: delta-rs's cleanup (on by default, ``delta.enableExpiredLogCleanup``) runs after
    *every* commit and lists the whole ``_delta_log/``, which holds every commit of the
    last ``delta.logRetentionDuration`` (30 days): measured with deltalake 1.6.6, a
    commit to a table with 1,000 log files took 17 ms with it and 10 ms without
    (4 ms with 40 files). Expired files are days old; once per interval removes them as
    well. delta-rs checkpoints the commits whose version + 1 is a multiple of the
    interval (99, 199, ...); this write's commit lands on ``version + 1`` unless another
    writer commits first, and then this interval's cleanup is skipped and the next one's
    does it.
    """
    if table is None:
        return PostCommitHookProperties()  # a new table: delta-rs's defaults
    raw = table.metadata().configuration.get(CHECKPOINT_INTERVAL_PROPERTY)
    try:
        interval = int(raw) if raw is not None else _DEFAULT_CHECKPOINT_INTERVAL
    except ValueError:
        interval = _DEFAULT_CHECKPOINT_INTERVAL
    at_checkpoint = interval > 0 and (int(table.version()) + 2) % interval == 0
    # None: the table's own setting decides (delta.enableExpiredLogCleanup).
    return PostCommitHookProperties(create_checkpoint=True,
                                    cleanup_expired_logs=None if at_checkpoint else False)


@dataclass(frozen=True)
class ModeWriter:
    """Writes one step to one table in one commit.

    Attributes:
        target: the table's name (for error messages).
        uri: the table's location.
        table: the table before the write, or ``None`` when it does not exist yet.
        storage: storage options for creating the table.
        props: the commit's metadata and app transaction.
        remove_orphans: removes the files a failed attempt of this write left.
        read_again: reads the step's rows again, for a first Merge whose keys repeat
            (``None``: the first Merge keeps a copy of the rows on disk instead).
        writer_properties: the Parquet settings of the write (the engine picks the
            column encodings from the step's first rows: ``tuning.writer_properties``).
    """

    target: TargetName
    uri: str
    table: DeltaTable | None
    storage: dict[str, str] | None
    props: CommitProperties
    remove_orphans: Callable[[], None]
    read_again: ReadAgain | None
    writer_properties: WriterProperties

    def write(self, mode: WriteMode, source: CountedStream) -> int:
        """Rows written (inserted + updated + deleted for a Merge)."""
        if isinstance(mode, Overwrite):
            # schema_mode="overwrite": a full load defines the table's schema anew.
            self._write_deltalake(self.table or self.uri, source.reader, mode="overwrite",
                                  schema_mode="overwrite")
            return source.rows
        if isinstance(mode, Append):
            return self._append(source)
        if isinstance(mode, ReplaceWhere):
            return self._replace_where(source, mode.predicate)
        if isinstance(mode, Merge):
            return self._merge(source.reader, mode)
        raise ConfigError(f"table {self.target}: unsupported write mode {mode!r}")

    def _write_deltalake(
        self,
        where: DeltaTable | str,
        data: pa.RecordBatchReader | pa.Table,
        *,
        mode: Literal["append", "overwrite"],
        schema_mode: Literal["merge", "overwrite"] = "merge",
        predicate: str | None = None,
    ) -> None:
        creating = isinstance(where, str)
        storage = self.storage if creating else None
        configuration = tuning.table_properties() if creating else None
        hooks = post_commit_hooks(where if isinstance(where, DeltaTable) else None)
        # Two calls, not one with mode=mode: deltalake's overloads take ``predicate``
        # with mode="overwrite" only.
        if mode == "append":
            write_deltalake(
                where, data, mode="append", schema_mode=schema_mode,
                commit_properties=self.props, storage_options=storage,
                configuration=configuration, target_file_size=tuning.TARGET_FILE_SIZE,
                writer_properties=self.writer_properties,
                post_commithook_properties=hooks,
            )
        else:
            write_deltalake(
                where, data, mode="overwrite", schema_mode=schema_mode, predicate=predicate,
                commit_properties=self.props, storage_options=storage,
                configuration=configuration, target_file_size=tuning.TARGET_FILE_SIZE,
                writer_properties=self.writer_properties,
                post_commithook_properties=hooks,
            )

    def _append(self, data: CountedStream | pa.Table) -> int:
        rows = data if isinstance(data, pa.Table) else data.reader
        if self.table is not None:
            check_compatible(self.target, arrow_schema(self.table), rows.schema)
        # An empty reader still produces a commit (verified with deltalake 1.6.6), which
        # carries the metadata and app transaction so the control state can roll forward.
        self._write_deltalake(self.table or self.uri, rows, mode="append")
        return int(data.num_rows) if isinstance(data, pa.Table) else data.rows

    def _replace_where(self, source: CountedStream, predicate: tuple[Predicate, ...]) -> int:
        text = render_where(predicate)
        if text is None:
            raise ConfigError(
                f"table {self.target}: ReplaceWhere needs at least one predicate; use "
                "Overwrite to replace the whole table"
            )
        if self.table is None:
            # First load: there is nothing to replace, so create the table by appending.
            return self._append(source)
        check_compatible(self.target, arrow_schema(self.table), source.reader.schema)
        # delta-rs deletes the rows matching the predicate and adds the new ones in one
        # commit; it refuses new rows that do not match the predicate.
        self._write_deltalake(self.table, source.reader, mode="overwrite", predicate=text)
        return source.rows

    def _merge(self, data: pa.RecordBatchReader, mode: Merge) -> int:
        table = self.table
        if table is None or mode.replace_existing or not table.file_uris():
            # No target rows (or none to keep): nothing to match, so no merge is needed.
            return self._first_merge(data, mode)
        # Materialised on purpose: NULL keys are refused and duplicates resolved before
        # anything is written.
        rows = data.read_all()
        validate_merge_source(self.target, rows, mode)
        rows = dedup(rows, mode.keys, mode.sequence)
        table_schema = arrow_schema(table)
        check_compatible(self.target, table_schema, rows.schema)
        if mode.sequence is not None and new_columns(table_schema, rows.schema):
            rows = drop_stale(rows, table.to_pyarrow_dataset(), mode.keys, mode.sequence)
        rows, deleted = soft_deletes(self.target, rows, mode)
        if rows.num_rows == 0:
            # delta-rs makes no commit for a merge of zero rows; an empty append does, and
            # leaves the data unchanged (new columns are still added).
            self._write_deltalake(table, rows, mode="append")
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
            writer_properties=self.writer_properties,
            # The rows are materialised already. Passing them whole (deltalake's default
            # streams them) lets delta-rs prune target files by the source's key range, so
            # a merge of recent keys reads and rewrites only the files that hold them.
            streamed_exec=False,
            commit_properties=self.props,
            post_commithook_properties=post_commit_hooks(table),
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

    def _first_merge(self, data: pa.RecordBatchReader, mode: Merge) -> int:
        """A Merge into a missing or empty table, or one replacing an earlier
        incarnation's table: one streamed append or overwrite (``first_merge``)."""
        table = self.table
        replacing = table is not None and mode.replace_existing
        where: DeltaTable | str = table if table is not None else self.uri
        how: Literal["append", "overwrite"] = "overwrite" if replacing else "append"
        existing = arrow_schema(table) if table is not None and not replacing else None

        def write(reader: pa.RecordBatchReader) -> None:
            if existing is not None:  # an empty table: its columns must still fit
                check_compatible(self.target, existing, reader.schema)
            self._write_deltalake(where, reader, mode=how,
                                  schema_mode="overwrite" if replacing else "merge")

        return write_first_merge(self.target, data, mode, write, self.remove_orphans,
                                 self.read_again)

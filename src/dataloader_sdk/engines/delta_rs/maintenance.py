"""Table maintenance with delta-rs: compaction or clustering, log checkpoints and vacuum.

* Compaction (``optimize.compact``) rewrites small files into files of the table's
  target size in one commit whose actions carry ``dataChange=false``: readers and
  streaming consumers see no new data, and the commit carries no app transaction, so
  the loader's replay check (``transaction_version``) and roll-forward (the newest
  dataloader commit in the history) see through it. delta-rs refuses to commit a
  compaction that conflicts with a concurrent write (a merge removed a file it
  rewrote): the files it wrote stay unreferenced (vacuum removes them later) and the
  compaction is retried on the new snapshot, a few times.
* Clustering (``optimize.z_order`` by the table's merge keys) rewrites the whole table
  sorted along a Z-order curve of those keys, into files of the task's size, in the same
  kind of commit, retried the same way. A merge rewrites every file holding a key it
  matches: on a clustered table the keys a load changes (recent ones, usually) sit in
  a few files, instead of in the one big file or the many mixed ones merges leave.
* ``create_checkpoint`` writes a Parquet checkpoint of the log, so opening the table
  reads one file instead of every JSON commit; ``cleanup_metadata`` then drops log files
  older than ``delta.logRetentionDuration`` (30 days by default).
* ``vacuum`` deletes unreferenced files older than the retention; only files that old,
  so the files of a write in flight (written seconds ago) are never touched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable

from dataloader_sdk.engines.base import MaintenanceOutcome, MaintenanceTask, TableFiles
from dataloader_sdk.engines.common.errors import destination_error
from dataloader_sdk.model import TargetName

__all__ = ["CLUSTER_SPILL_BYTES", "COMPACT_ATTEMPTS", "MAINTENANCE_KEY", "maintain",
           "table_files"]

log = logging.getLogger(__name__)

#: How often a compaction that lost a commit race is tried again.
COMPACT_ATTEMPTS = 3
#: Commit metadata key marking the SDK's maintenance commits (never a load's metadata).
MAINTENANCE_KEY = "dataloader.maintenance"
#: Bytes clustering's sort holds in memory before it spills to disk. delta-rs's default
#: is 20 GiB, i.e. the whole table: z-ordering a 505 MB table peaked at 1,140 MB RSS;
#: with 256 MiB, a 661 MB one at 595 MB, in about the same time (session 12).
CLUSTER_SPILL_BYTES = 256 * 1024 * 1024


def table_files(table: DeltaTable, small_file_bytes: int) -> TableFiles:
    """Count the current snapshot's data files and the small ones."""
    actions = pa.RecordBatchReader.from_stream(table.get_add_actions(flatten=True)).read_all()
    sizes = [int(s) for s in actions.column("size_bytes").to_pylist() if s is not None]
    return TableFiles(version=int(table.version()), files=len(sizes),
                      small_files=sum(1 for s in sizes if s < small_file_bytes),
                      bytes=sum(sizes))


def maintain(
    target: TargetName,
    load: Callable[[], DeltaTable],
    task: MaintenanceTask,
    *,
    target_file_bytes: int,
    writer_properties: Any,
) -> MaintenanceOutcome:
    """Run ``task`` on the table ``load()`` opens (reloaded before every attempt).

    Raises:
        DestinationError: a step failed (a compaction after :data:`COMPACT_ATTEMPTS`
            conflicts); what earlier steps did stays done, the data is unchanged.
    """
    removed = added = vacuumed = 0
    attempts = 1
    checkpoint_version: int | None = None
    clustered_version: int | None = None
    table = load()
    if task.cluster_by and not task.dry_run:  # a dry run reports the plan's file counts
        size = task.target_file_bytes or target_file_bytes

        def cluster(t: DeltaTable) -> dict[str, Any]:
            return t.optimize.z_order(list(task.cluster_by), target_size=size,
                                      max_spill_size=CLUSTER_SPILL_BYTES,
                                      writer_properties=writer_properties,
                                      commit_properties=_marked("cluster"))

        table, removed, added, attempts = _optimize(target, load, table, cluster, "clustering")
        clustered_version = int(table.version())
    elif task.compact and not task.dry_run:
        size = task.target_file_bytes or target_file_bytes

        def compact(t: DeltaTable) -> dict[str, Any]:
            return t.optimize.compact(target_size=size, writer_properties=writer_properties,
                                      commit_properties=_marked("compact"))

        table, removed, added, attempts = _optimize(target, load, table, compact, "compaction")
    if task.checkpoint and not task.dry_run:
        try:
            table.create_checkpoint()
            table.cleanup_metadata()
        except Exception as exc:
            raise destination_error(f"table {target}: the log checkpoint failed", exc,
                                    "The data is unchanged; maintenance tries again.") from exc
        checkpoint_version = int(table.version())
    if task.vacuum:
        try:
            files = table.vacuum(
                retention_hours=task.retention_hours, dry_run=task.dry_run,
                enforce_retention_duration=task.enforce_retention,
                commit_properties=CommitProperties(custom_metadata={MAINTENANCE_KEY: "vacuum"}),
            )
        except Exception as exc:
            raise destination_error(f"table {target}: vacuum failed", exc,
                                    "The data is unchanged; maintenance tries again.") from exc
        vacuumed = len(files)
    table = load()
    return MaintenanceOutcome(files_removed=removed, files_added=added,
                              checkpointed=checkpoint_version is not None, vacuumed_files=vacuumed,
                              version=int(table.version()), attempts=attempts,
                              checkpoint_version=checkpoint_version,
                              clustered_version=clustered_version)


def _marked(kind: str) -> CommitProperties:
    return CommitProperties(custom_metadata={MAINTENANCE_KEY: kind})


def _optimize(
    target: TargetName,
    load: Callable[[], DeltaTable],
    table: DeltaTable,
    rewrite: Callable[[DeltaTable], dict[str, Any]],
    what: str,
) -> tuple[DeltaTable, int, int, int]:
    """Run a data-change-free rewrite, retrying on a commit conflict; (table after it,
    files removed, files added, attempts)."""
    for attempt in range(1, COMPACT_ATTEMPTS + 1):
        try:
            metrics = rewrite(table)  # delta-rs brings ``table`` up to date after it
            return (table, int(metrics.get("numFilesRemoved", 0)),
                    int(metrics.get("numFilesAdded", 0)), attempt)
        except Exception as exc:
            if type(exc).__name__ != "CommitFailedError" or attempt == COMPACT_ATTEMPTS:
                raise destination_error(
                    f"table {target}: {what} failed (attempt {attempt})", exc,
                    f"The data is unchanged (a {what} commit changes no rows); "
                    "maintenance tries again later.",
                ) from exc
            log.info("table %s: %s lost a commit race with a concurrent write; "
                     "retrying on the new snapshot (%s)", target, what, exc)
            table = load()
    raise AssertionError("unreachable")  # pragma: no cover

"""Table maintenance on Spark through delta-spark's ``DeltaTable`` API.

* ``optimize().executeCompaction()`` is Delta's ``OPTIMIZE``: one commit of
  ``dataChange=false`` actions, carrying no app transaction. A concurrent load that
  removed a file the compaction rewrote makes Delta refuse the compaction's commit
  (a ``DeltaConcurrentModificationException``); it is retried on the new snapshot.
* Clustering is ``optimize().executeZOrderBy(keys)`` (``OPTIMIZE ... ZORDER BY``): the
  whole table rewritten along a Z-order curve of the merge keys, in the same kind of
  commit, retried the same way; the session's ``spark.databricks.delta.optimize.maxFileSize``
  is set to the task's file size for the call only.
* ``vacuum(hours)`` is ``VACUUM ... RETAIN n HOURS`` without SQL text. Delta on Spark
  refuses a retention below ``delta.deletedFileRetentionDuration`` unless the session's
  ``spark.databricks.delta.retentionDurationCheck.enabled`` is off: it is switched off
  for the call only when the policy's explicit override asks for a short retention.
* Checkpoints: Delta on Spark writes one every ``delta.checkpointInterval`` commits (10
  by default) by itself; a checkpoint the policy finds due is forced at the table's
  current version, as delta-rs's ``create_checkpoint()`` does. delta-spark's Python API
  has no call for it, so it goes through py4j to the JVM's ``DeltaLog``:
  ``forTable(session, path).checkpoint(getSnapshotAt(version))``, the call Delta makes
  after its own commits (the log's location comes from ``DESCRIBE DETAIL``, also for a
  catalog table). Like delta-rs's ``cleanup_metadata()``, it then drops log files older
  than ``delta.logRetentionDuration``. Delta logs and swallows a failed checkpoint, so
  ``_last_checkpoint`` is read back: the pass fails unless it names that version. A Spark
  Connect session has no JVM to call: there the checkpoint stays Delta's.
* File counts come from ``DESCRIBE DETAIL`` (``numFiles``, ``sizeInBytes``): without
  per-file sizes, every file counts as small when the *average* file is below the
  size (docs/maintenance.md).

pyspark is imported by the caller (``spark/engine.py``) only; nothing here imports it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from dataloader_sdk.engines.base import MaintenanceOutcome, MaintenanceTask, TableFiles
from dataloader_sdk.engines.common.errors import destination_error, is_transient
from dataloader_sdk.errors import DestinationError
from dataloader_sdk.model import TargetName

if TYPE_CHECKING:
    from delta.tables import DeltaTable
    from pyspark.sql import SparkSession

__all__ = ["maintain", "table_files"]

log = logging.getLogger(__name__)

_ATTEMPTS = 3
_RETENTION_CHECK = "spark.databricks.delta.retentionDurationCheck.enabled"
_MAX_FILE_SIZE = "spark.databricks.delta.optimize.maxFileSize"


def table_files(table: DeltaTable, version: int, small_file_bytes: int) -> TableFiles:
    """File counts from ``DESCRIBE DETAIL`` (small: by the average size; see above)."""
    row = table.detail().select("numFiles", "sizeInBytes").first()
    files = int(row[0] or 0) if row is not None else 0
    size = int(row[1] or 0) if row is not None else 0
    small = files if files and size / files < small_file_bytes else 0
    return TableFiles(version=version, files=files, small_files=small, bytes=size)


def maintain(
    target: TargetName,
    spark: SparkSession,
    load: Callable[[], DeltaTable],
    version: Callable[[], int | None],
    task: MaintenanceTask,
) -> MaintenanceOutcome:
    """Run ``task`` (compaction, checkpoint and vacuum; see the module docstring).

    Raises:
        DestinationError: a step failed; the data is unchanged.
    """
    removed = added = 0
    attempts = 1
    checkpoint_version = clustered_version = None
    if task.cluster_by and not task.dry_run:
        keys = task.cluster_by
        with _session_conf(spark, _MAX_FILE_SIZE, task.target_file_bytes):
            removed, added, attempts = _optimize(
                target, lambda: load().optimize().executeZOrderBy(*keys), "OPTIMIZE ZORDER BY")
        clustered_version = version()
    elif task.compact and not task.dry_run:
        removed, added, attempts = _optimize(
            target, lambda: load().optimize().executeCompaction(), "OPTIMIZE")
    if task.checkpoint and not task.dry_run:
        checkpoint_version = _checkpoint(target, spark, load(), version())
    if task.vacuum and not task.dry_run:
        _vacuum(target, spark, load(), task)
    return MaintenanceOutcome(files_removed=removed, files_added=added,
                              checkpointed=checkpoint_version is not None, vacuumed_files=0,
                              version=version(), attempts=attempts,
                              checkpoint_version=checkpoint_version,
                              clustered_version=clustered_version)


@contextmanager
def _session_conf(spark: SparkSession, key: str, value: int | None) -> Iterator[None]:
    """``key`` set to ``value`` for the block (``None``: left as it is)."""
    if value is None:
        yield
        return
    previous = spark.conf.get(key, None)
    spark.conf.set(key, str(value))
    try:
        yield
    finally:
        if previous is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, previous)


def _optimize(target: TargetName, run: Callable[[], Any], what: str) -> tuple[int, int, int]:
    """Run an ``OPTIMIZE``, retrying a lost commit race; (removed, added, attempts)."""
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            metrics: Any = run().select("metrics").first()
            values = metrics[0] if metrics is not None else None
            removed = int(values["numFilesRemoved"]) if values is not None else 0
            added = int(values["numFilesAdded"]) if values is not None else 0
            return removed, added, attempt
        except Exception as exc:
            if not is_transient(exc) or attempt == _ATTEMPTS:
                raise destination_error(
                    f"table {target}: {what} failed (attempt {attempt})", exc,
                    "The data is unchanged; maintenance tries again later.",
                ) from exc
            log.info("table %s: %s lost a commit race; retrying", target, what)
    raise AssertionError("unreachable")  # pragma: no cover


def _checkpoint(
    target: TargetName, spark: SparkSession, table: DeltaTable, version: int | None
) -> int | None:
    """Force a checkpoint at ``version`` through the JVM (see the module docstring); the
    version checkpointed (``None``: left to Delta)."""
    jvm: Any = getattr(spark, "_jvm", None)
    session: Any = getattr(spark, "_jsparkSession", None)
    if jvm is None or session is None or version is None:
        log.info("table %s: no JVM session to force a checkpoint; Delta writes its own",
                 target)
        return None
    try:
        row: Any = table.detail().select("location").first()
        delta_log = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(session, str(row[0]))
        none = jvm.scala.Option.empty()  # no checkpoint hint, no catalog table
        delta_log.checkpoint(delta_log.getSnapshotAt(version, none, none), none)
        last = delta_log.readLastCheckpointFile()
        written = bool(last.isDefined()) and int(last.get().version()) == version
    except Exception as exc:
        raise destination_error(f"table {target}: the log checkpoint failed", exc,
                                "The data is unchanged; maintenance tries again.") from exc
    if not written:
        raise DestinationError(f"table {target}: Delta did not write the checkpoint of "
                               f"version {version}; the data is unchanged, maintenance "
                               "tries again (the Spark driver log says why)")
    return version


def _vacuum(target: TargetName, spark: SparkSession, table: DeltaTable,
            task: MaintenanceTask) -> None:
    previous = spark.conf.get(_RETENTION_CHECK, "true")
    try:
        if not task.enforce_retention:
            spark.conf.set(_RETENTION_CHECK, "false")
        table.vacuum(float(task.retention_hours))
    except Exception as exc:
        raise destination_error(f"table {target}: VACUUM failed", exc,
                                "The data is unchanged; maintenance tries again.") from exc
    finally:
        if not task.enforce_retention:
            spark.conf.set(_RETENTION_CHECK, previous or "true")

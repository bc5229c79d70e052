"""What the Spark engine reads back from a table's Delta log.

:func:`recorded_version` reads the app transaction from the table's current snapshot,
as delta-rs's ``DeltaTable.transaction_version`` does: Delta keeps every ``txn`` action
(appId → version) in the snapshot state, checkpoints included, so the answer costs one
snapshot update (the log after the newest checkpoint) however long the history is, and it
survives log cleanup. delta-spark has no Python call for it, so it goes through the JVM
gateway (``DeltaTable._jdt.deltaLog().update().transactions()``). Where there is no JVM
gateway (Spark Connect) the newest dataloader commit of the app id in the history is used
instead, which is what the engine did before.

The other readers scan the history (``DESCRIBE HISTORY``), which Delta keeps for
``delta.logRetentionDuration`` (30 days by default).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from dataloader_sdk.engines.base import find_commit
from dataloader_sdk.engines.common.errors import reading_history
from dataloader_sdk.model import CommitInfo

if TYPE_CHECKING:
    from delta.tables import DeltaTable

__all__ = [
    "find_in_history",
    "last_commit_time",
    "recorded_version",
    "rows_of_last_commit",
    "snapshot_transaction",
]

log = logging.getLogger(__name__)


class _NoGateway(Exception):
    """The session has no JVM gateway to read the snapshot through."""


def snapshot_transaction(table: DeltaTable, app_id: str) -> int | None:
    """The app-transaction version of ``app_id`` in the table's current snapshot.

    Raises:
        _NoGateway: the table is not backed by a JVM object (Spark Connect).
    """
    jdt: Any = getattr(table, "_jdt", None)
    if jdt is None:
        raise _NoGateway
    delta_log = jdt.deltaLog()
    # DeltaLog.update(stalenessAcceptable, checkIfUpdatedSinceTs, catalogTableOpt): the
    # Scala default arguments, fetched through their generated accessors.
    snapshot = delta_log.update(
        getattr(delta_log, "update$default$1")(),
        getattr(delta_log, "update$default$2")(),
        getattr(delta_log, "update$default$3")(),
    )
    found = snapshot.transactions().get(app_id)
    return int(found.get()) if found.isDefined() else None


def recorded_version(table: DeltaTable, target: object, app_id: str) -> int | None:
    """The version recorded for ``app_id`` (see the module docstring)."""
    with reading_history(target):
        try:
            return snapshot_transaction(table, app_id)
        except _NoGateway:
            log.debug("table %s: no JVM gateway; reading the app transaction from the "
                      "history", target)
        info = find_in_history(table, target, app_id, limit=None)
        return info.txn_version if info is not None else None


def find_in_history(
    table: DeltaTable, target: object, app_id: str | None, *, limit: int | None
) -> CommitInfo | None:
    """The newest dataloader commit (of ``app_id``, if given) in the table's history."""
    from pyspark.sql import functions as F

    with reading_history(target):
        history = table.history(limit) if limit else table.history()
        frame = history.select("version", "userMetadata")
        if app_id is not None:
            frame = frame.where(F.col("userMetadata").contains(json.dumps(app_id)))
        rows = frame.orderBy(F.col("version").desc()).collect()
    return find_commit(({"userMetadata": row["userMetadata"]} for row in rows), app_id)


def rows_of_last_commit(table: DeltaTable) -> int:
    """Rows the newest commit wrote, from its ``operationMetrics``."""
    row = table.history(1).select("operationMetrics").first()
    metrics: dict[str, str] = dict(row[0] or {}) if row is not None else {}
    if "numTargetRowsInserted" in metrics:
        return int(metrics["numTargetRowsInserted"]) + int(
            metrics.get("numTargetRowsUpdated", "0")
        )
    return int(metrics.get("numOutputRows", "0")) - int(metrics.get("numCopiedRows", "0"))


def last_commit_time(table: DeltaTable, target: object) -> datetime | None:
    """When the table's newest commit was made (UTC)."""
    with reading_history(target):
        # Epoch milliseconds: a collected timestamp would be a naive local time.
        row = table.history(1).selectExpr("unix_millis(timestamp) AS ms").first()
    stamp = row[0] if row is not None else None
    if not isinstance(stamp, int):
        return None
    return datetime.fromtimestamp(stamp / 1000, tz=timezone.utc)

"""The embedded Delta engine: delta-rs through the ``deltalake`` package, no JVM.

Each :meth:`DeltaRsEngine.write` is exactly one Delta commit that carries the step's
:class:`~dataloader_sdk.model.CommitInfo` as custom commit metadata and a Delta app
transaction ``(commit.app_id, commit.txn_version)``. delta-rs records app transactions
but does not skip replays, so the engine reads the recorded version first and turns a
replay into a no-op. Writes to one table are serialised by a per-table lock within the
process; across processes the control DB's lease keeps one writer per table.

Every write first reads up to 8 MiB of the step ahead (``staging``): a step that ends
within it carries its exact row count in the commit metadata (``dataloader.rows``); a
bigger one streams on and leaves the count to Delta's ``operationMetrics``. A write that
fails after delta-rs wrote files but before its commit (a source error, a refused read,
a cancel) has those files removed (``orphans`` says which files are safe to remove, and
why).

Memory: Overwrite, Append and ReplaceWhere stream the rows into delta-rs (one
batch alive at a time, plus delta-rs's own Parquet write buffers). A Merge into an
existing table materialises the step's rows, because NULL keys must be refused and
duplicates removed before anything is written; a Merge into a table without rows streams
(rows spilled to disk in case keys repeat; see ``first_merge``). An
error the source raises while delta-rs pulls from it is re-raised as itself.

delta-rs streams each Parquet file out in 5 MiB parts, but holds the open row group in
memory until it reaches ``max_row_group_size`` (1,048,576 rows by default: most of a
1M-row table). Every write and merge therefore passes :func:`writer_properties`, whose
small row groups bound the writers' buffers and the merge's rewrite of touched files, and
new tables get :data:`TARGET_FILE_SIZE` as ``delta.targetFileSize``, the file size merges
use. Peak memory does not grow with the table (benchmarks/, docs/benchmarks.md). With
row groups that small the Parquet writer never gives up a dictionary, so the engine
writes mostly distinct columns plain, judged on the rows it read ahead (``tuning``).

See docs/engines.md for the exact semantics of each write mode.

Modules: ``engine`` (the engine and its factory), ``writes`` (one commit per write mode),
``first_merge``, ``staging`` and ``streams`` (streaming and counting a step),
``orphans`` (cleanup after a failed write), ``paths``, ``tuning`` and ``maintenance``.
"""

from __future__ import annotations

from dataloader_sdk.engines.delta_rs.engine import DeltaRsEngine, DeltaRsEngineFactory, table_uri
from dataloader_sdk.engines.delta_rs.tuning import (
    MAX_ROW_GROUP_ROWS,
    TARGET_FILE_SIZE,
    table_properties,
    writer_properties,
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

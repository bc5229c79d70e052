"""The Parquet file size both Delta engines give the tables they create.

Stored as the table property ``delta.targetFileSize`` when an engine creates a table:
delta-rs merges and Spark's writes and OPTIMIZE take their file size from it, so a table
has files of the same size whichever engine wrote it. 32 MiB (delta-rs's default is
100 MiB, Spark's 1 GiB for OPTIMIZE) keeps the memory of a merge's file rewrite bounded
(docs/benchmarks.md).
"""

from __future__ import annotations

__all__ = ["TARGET_FILE_SIZE", "TARGET_FILE_SIZE_PROPERTY"]

#: Bytes per data file the engines aim for.
TARGET_FILE_SIZE = 32 * 1024 * 1024
#: The Delta table property that carries it.
TARGET_FILE_SIZE_PROPERTY = "delta.targetFileSize"

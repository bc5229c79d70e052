"""File and row-group sizes of every delta-rs write (why: see ``delta_rs/__init__.py``).

The functions read the module's constants when called, so a test may shrink them with
``monkeypatch.setattr(tuning, "TARGET_FILE_SIZE", ...)``.
"""

from __future__ import annotations

from deltalake import WriterProperties

from dataloader_sdk.engines.common.sizes import TARGET_FILE_SIZE as _DEFAULT_TARGET_FILE_SIZE
from dataloader_sdk.engines.common.sizes import TARGET_FILE_SIZE_PROPERTY

__all__ = ["MAX_ROW_GROUP_ROWS", "TARGET_FILE_SIZE", "table_properties", "writer_properties"]

#: Bytes after which delta-rs closes a Parquet file and starts the next one. delta-rs's
#: default is 100 MiB. Also stored as the table property ``delta.targetFileSize`` when the
#: engine creates a table, because merges take their file size from that property.
TARGET_FILE_SIZE = _DEFAULT_TARGET_FILE_SIZE
#: Rows per Parquet row group (delta-rs's default is 1,048,576). The writer holds the open
#: row group in memory, and a merge rewrites whole files row group by row group, so this
#: bounds the memory of every write (docs/benchmarks.md has the measurements).
MAX_ROW_GROUP_ROWS = 16_384


def writer_properties() -> WriterProperties:
    """The Parquet writer properties of every write and merge."""
    return WriterProperties(max_row_group_size=MAX_ROW_GROUP_ROWS)


def table_properties() -> dict[str, str | None]:
    """Delta table properties set when the engine creates a table (ignored afterwards)."""
    return {TARGET_FILE_SIZE_PROPERTY: str(TARGET_FILE_SIZE)}

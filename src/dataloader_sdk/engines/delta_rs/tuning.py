"""File and row-group sizes, codec and column encodings of every delta-rs write (why:
see ``delta_rs/__init__.py`` and docs/engines.md "Parquet files").

The functions read the module's constants when called, so a test may shrink them with
``monkeypatch.setattr(tuning, "TARGET_FILE_SIZE", ...)``.
"""

from __future__ import annotations

from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import ColumnProperties, WriterProperties

from dataloader_sdk.engines.common.sizes import TARGET_FILE_SIZE as _DEFAULT_TARGET_FILE_SIZE
from dataloader_sdk.engines.common.sizes import TARGET_FILE_SIZE_PROPERTY

__all__ = [
    "COMPRESSION",
    "DICTIONARY_MAX_SIZE_SHARE",
    "DICTIONARY_MIN_SAMPLE",
    "MAX_ROW_GROUP_ROWS",
    "TARGET_FILE_SIZE",
    "plain_columns",
    "table_properties",
    "writer_properties",
]

#: Bytes after which delta-rs closes a Parquet file and starts the next one. delta-rs's
#: default is 100 MiB. Also stored as the table property ``delta.targetFileSize`` when the
#: engine creates a table, because merges take their file size from that property.
TARGET_FILE_SIZE = _DEFAULT_TARGET_FILE_SIZE
#: Rows per Parquet row group (delta-rs's default is 1,048,576). The writer holds the open
#: row group in memory, and a merge rewrites whole files row group by row group, so this
#: bounds the memory of every write (docs/benchmarks.md has the measurements).
MAX_ROW_GROUP_ROWS = 16_384
#: The Parquet codec of every write and merge. Properties passed to delta-rs replace its
#: defaults whole, and without a codec parquet-rs writes uncompressed pages: until
#: session 17 every file the engine wrote was uncompressed (the docs said snappy,
#: delta-rs's default). zstd at its default level (1) made the benchmark table's files
#: half the size of snappy's for ~15 % more of the encoding's CPU (docs/benchmarks.md).
COMPRESSION: Literal["SNAPPY", "ZSTD", "LZ4_RAW", "UNCOMPRESSED"] = "ZSTD"
#: A column keeps Parquet's dictionary encoding only if, on the write's sample, the
#: dictionary and its indices would take at most this share of the plain values' bytes.
DICTIONARY_MAX_SIZE_SHARE = 0.75
#: A column with fewer sampled non-null values keeps the writer's default (dictionary):
#: a handful of rows tells nothing about the values' repetition.
DICTIONARY_MIN_SAMPLE = 1_024


def writer_properties(sample: pa.Table | None = None) -> WriterProperties:
    """The Parquet writer properties of a write or merge.

    Args:
        sample: the write's first rows (at most one row group's worth is looked at);
            columns whose values barely repeat in it are written without a dictionary
            (:func:`plain_columns`). ``None``: every column keeps the default.
    """
    plain = plain_columns(sample) if sample is not None else ()
    return WriterProperties(
        max_row_group_size=MAX_ROW_GROUP_ROWS,
        compression=COMPRESSION,
        column_properties={name: ColumnProperties(dictionary_enabled=False)
                           for name in plain} or None,
    )


def plain_columns(sample: pa.Table) -> tuple[str, ...]:
    """The top-level columns a dictionary would not pay for, judged on ``sample``.

    Why: the Parquet writer starts every column chunk with a dictionary and falls back to
    plain values only once the dictionary page outgrows 1 MiB, which a row group of
    :data:`MAX_ROW_GROUP_ROWS` rows rarely reaches. So keys, timestamps, measures and
    free text were hashed value by value into dictionaries as big as the values: on the
    benchmark table that was ~0.3 s of CPU per million rows, two thirds of the Parquet
    encoding, for files 11 % bigger than plain ones (docs/benchmarks.md, session 17).
    The estimate per column: the distinct values' bytes plus one index of
    ``bit_length(distinct)`` bits per value, against the values' own bytes. Booleans,
    nested and dictionary-typed columns, and columns with fewer than
    :data:`DICTIONARY_MIN_SAMPLE` sampled values keep the default.
    """
    rows = sample.slice(0, MAX_ROW_GROUP_ROWS)
    return tuple(field.name for field, column in zip(rows.schema, rows.columns, strict=True)
                 if _dictionary_too_big(field.type, column))


def _dictionary_too_big(kind: pa.DataType, column: pa.ChunkedArray) -> bool:
    if (pa.types.is_boolean(kind) or pa.types.is_null(kind) or pa.types.is_nested(kind)
            or pa.types.is_dictionary(kind) or isinstance(kind, pa.ExtensionType)):
        return False
    values = len(column) - int(column.null_count)
    if values < DICTIONARY_MIN_SAMPLE:
        return False
    try:
        distinct = pc.unique(column)
    except pa.ArrowNotImplementedError:  # a type Arrow cannot hash: keep the default
        return False
    dictionary = int(distinct.nbytes) + values * max(1, len(distinct).bit_length()) / 8
    return dictionary > DICTIONARY_MAX_SIZE_SHARE * int(column.nbytes)


def table_properties() -> dict[str, str | None]:
    """Delta table properties set when the engine creates a table (ignored afterwards)."""
    return {TARGET_FILE_SIZE_PROPERTY: str(TARGET_FILE_SIZE)}

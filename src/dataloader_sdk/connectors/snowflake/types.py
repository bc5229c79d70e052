"""Snowflake → Arrow type mapping (the table in docs/connectors/snowflake.md).

Decisions (also documented):

* ``NUMBER(p,0)`` with ``p <= 18`` is ``int64`` (every value fits); any other ``NUMBER``
  (including the default ``NUMBER(38,0)`` of ``INT``/``BIGINT`` columns) is
  ``decimal128(p,s)``: Snowflake's ``INT`` holds 38 digits, and int64 would fail on the
  first large value.
* Timestamps are microseconds: Delta stores microseconds, so sub-microsecond digits of a
  ``TIMESTAMP(9)`` are truncated here (explicitly) rather than by the writer.
  ``TIMESTAMP_NTZ`` stays naive (wall clock); ``TIMESTAMP_LTZ`` and ``TIMESTAMP_TZ`` are
  instants in UTC (``TIMESTAMP_TZ``'s per-value offset is not kept).
* ``VARIANT``/``OBJECT``/``ARRAY`` are JSON text as Snowflake returns it; ``TIME`` is text
  (``HH:MM:SS.fffffffff``) because Delta has no time type.
"""

from __future__ import annotations

import pyarrow as pa

from dataloader_sdk.connectors.arrow import conform as shared_conform

__all__ = ["UnsupportedTypeError", "arrow_type_for", "conform", "time_as_text"]

MAX_DECIMAL_PRECISION = 38
#: The largest NUMBER(p,0) whose every value fits in int64.
INT64_DIGITS = 18

_SIMPLE: dict[str, pa.DataType] = {
    "FLOAT": pa.float64(), "REAL": pa.float64(), "DOUBLE": pa.float64(),
    "TEXT": pa.string(), "VARCHAR": pa.string(), "STRING": pa.string(), "CHAR": pa.string(),
    "BOOLEAN": pa.bool_(), "DATE": pa.date32(), "BINARY": pa.binary(),
    "TIMESTAMP_NTZ": pa.timestamp("us"), "TIMESTAMP": pa.timestamp("us"),
    "TIMESTAMP_LTZ": pa.timestamp("us", tz="UTC"), "TIMESTAMP_TZ": pa.timestamp("us", tz="UTC"),
    "VARIANT": pa.string(), "OBJECT": pa.string(), "ARRAY": pa.string(),
    "TIME": pa.string(), "GEOGRAPHY": pa.string(), "GEOMETRY": pa.string(),
}
#: Names the driver's result metadata uses for the same types.
_ALIASES = {"FIXED": "NUMBER", "DECIMAL": "NUMBER", "NUMERIC": "NUMBER", "REAL": "FLOAT"}


class UnsupportedTypeError(ValueError):
    """A Snowflake type the connector cannot read into a column value."""


def arrow_type_for(
    data_type: str, precision: int | None = None, scale: int | None = None, column: str = ""
) -> pa.DataType:
    """The declared Arrow type of a Snowflake column type.

    Raises:
        UnsupportedTypeError: e.g. ``VECTOR`` or a type this version does not know.
    """
    name = _ALIASES.get(data_type.upper(), data_type.upper())
    if name == "NUMBER":
        p = 38 if precision is None else int(precision)
        s = 0 if scale is None else int(scale)
        if s == 0 and p <= INT64_DIGITS:
            return pa.int64()
        return pa.decimal128(min(p, MAX_DECIMAL_PRECISION), s)
    simple = _SIMPLE.get(name)
    if simple is not None:
        return simple
    where = f"column {column!r} has " if column else ""
    raise UnsupportedTypeError(
        f"{where}Snowflake type {data_type}, which dataloader cannot load; convert it in a "
        "source_query (e.g. TO_VARCHAR(col) or col::ARRAY)")


def time_as_text(arr: pa.Array, target: pa.DataType) -> pa.Array:
    """``TIME`` arrives as Arrow time; it is declared text ``HH:MM:SS.fffffffff``."""
    if pa.types.is_string(target) and pa.types.is_time(arr.type):
        return arr.cast(pa.time64("ns")).cast(pa.string())
    return arr


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """``batch`` with exactly ``schema``'s types.

    Casts are safe (they fail rather than round) except the documented truncation of
    nanosecond timestamps to microseconds.
    """
    return shared_conform(batch, schema, truncate_timestamps=True, adapt=time_as_text)

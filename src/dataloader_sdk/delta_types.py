"""Arrow types Delta Lake cannot store, and what the runner turns them into.

Connectors map source types to Arrow faithfully; a few Arrow types have no Delta
counterpart (Delta has no TIME, no unsigned integers, no durations, no NULL type). The
runner converts them here, the same way for every engine, so a table written by delta-rs
and one written by Spark stay identical:

| Arrow | Delta column | value |
|---|---|---|
| time32 / time64 | string | ISO ``HH:MM:SS`` with the unit's fixed fraction digits (sorts like the time) |
| uint8 / uint16 / uint32 | short / int / long | the same number (widened) |
| uint64 | decimal(20, 0) | the same number, exact |
| duration | long | microseconds |
| null (a column that is NULL everywhere, untyped) | string | NULL |
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

__all__ = ["delta_compatible", "delta_type"]


def delta_type(arrow_type: pa.DataType) -> pa.DataType:
    """The type a column of ``arrow_type`` is stored as in Delta."""
    if pa.types.is_time(arrow_type) or pa.types.is_null(arrow_type):
        return pa.string()
    if pa.types.is_unsigned_integer(arrow_type):
        return {8: pa.int16(), 16: pa.int32(), 32: pa.int64()}.get(
            arrow_type.bit_width, pa.decimal128(20, 0))
    if pa.types.is_duration(arrow_type):
        return pa.int64()
    return arrow_type


def _convert(column: pa.Array, target: pa.DataType) -> pa.Array:
    if pa.types.is_duration(column.type):
        column = column.cast(pa.duration("us"))
    return column.cast(target)


def delta_compatible(reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
    """``reader`` with every column Delta can store; streaming, batch by batch.

    Returns ``reader`` itself when nothing needs converting (the common case).
    """
    schema = reader.schema
    fields = [f.with_type(delta_type(f.type)) for f in schema]
    if all(f.type == g.type for f, g in zip(schema, fields, strict=True)):
        return reader
    target = pa.schema(fields, metadata=schema.metadata)

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            yield pa.record_batch(
                [col if col.type == f.type else _convert(col, f.type)
                 for col, f in zip(batch.columns, fields, strict=True)],
                schema=target,
            )

    return pa.RecordBatchReader.from_batches(target, batches())

"""Exact Arrow ↔ Spark type mapping for the Spark engine.

Spark's own inference maps a zone-less Arrow timestamp to ``TimestampType`` (an instant),
which would silently move wall-clock values by the session time zone, so the engine always
passes an explicit schema built here. The mapping is the one delta-rs uses, so both
engines leave the same Delta column types:

=================================  ===============================  ==========================
Arrow                              Spark / Delta                    read back as (Arrow)
=================================  ===============================  ==========================
int8 / int16 / int32 / int64       byte / short / integer / long    same width
uint8 / uint16 / uint32            short / integer / long           next wider signed int
float16 / float32, float64         float, double                    float32, float64
decimal128/256(p ≤ 38, s)          decimal(p, s)                    decimal128(p, s)
string / large_string / view       string                           string
binary / large / fixed / view      binary                           binary
bool                               boolean                          bool
date32 / date64                    date                             date32
timestamp(any unit, tz)            timestamp (UTC instant)          timestamp[us, tz=UTC]
timestamp(any unit, no tz)         timestamp_ntz                    timestamp[us]
list / large_list                  array                            list
struct, map                        struct, map                      struct, map
=================================  ===============================  ==========================

``uint64``, ``time``, ``duration``, ``null`` and wider decimals have no Delta type and are
refused with an error naming the column (cast them in the source query).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

from dataloader_sdk.engines.common.schema import normalize_type
from dataloader_sdk.errors import DestinationError

if TYPE_CHECKING:
    from pyspark.sql import types as T

__all__ = ["arrow_schema_to_spark", "conform_for_spark", "spark_schema_to_arrow"]


def _to_spark(t: pa.DataType, where: str) -> T.DataType:
    from pyspark.sql import types as T

    t = normalize_type(t)
    simple: list[tuple[pa.DataType, T.DataType]] = [
        (pa.int8(), T.ByteType()), (pa.int16(), T.ShortType()), (pa.int32(), T.IntegerType()),
        (pa.int64(), T.LongType()), (pa.uint8(), T.ShortType()), (pa.uint16(), T.IntegerType()),
        (pa.uint32(), T.LongType()), (pa.float16(), T.FloatType()), (pa.float32(), T.FloatType()),
        (pa.float64(), T.DoubleType()), (pa.string(), T.StringType()),
        (pa.binary(), T.BinaryType()), (pa.bool_(), T.BooleanType()), (pa.date32(), T.DateType()),
    ]
    for arrow_type, spark_type in simple:
        if t == arrow_type:
            return spark_type
    if pa.types.is_fixed_size_binary(t):
        return T.BinaryType()
    if pa.types.is_decimal(t) and t.precision <= 38:
        return T.DecimalType(t.precision, t.scale)
    if pa.types.is_timestamp(t):
        return T.TimestampType() if t.tz else T.TimestampNTZType()
    if pa.types.is_list(t) or pa.types.is_fixed_size_list(t):
        return T.ArrayType(_to_spark(t.value_type, where), True)
    if pa.types.is_struct(t):
        return T.StructType([
            T.StructField(t.field(i).name, _to_spark(t.field(i).type, where), True)
            for i in range(t.num_fields)
        ])
    if pa.types.is_map(t):
        return T.MapType(_to_spark(t.key_type, where), _to_spark(t.item_type, where), True)
    raise DestinationError(
        f"{where} has Arrow type {t}, which Delta cannot store; cast it in the source "
        "query (e.g. to a string, a decimal or a signed integer)"
    )


def arrow_schema_to_spark(schema: pa.Schema, target: object) -> T.StructType:
    """The Spark schema for ``schema`` (all fields nullable, as Delta writes them).

    Raises:
        DestinationError: a column has a type Delta cannot store.
    """
    from pyspark.sql import types as T

    return T.StructType([
        T.StructField(f.name, _to_spark(f.type, f"table {target}: column {f.name!r}"), True)
        for f in schema
    ])


def _to_arrow(t: T.DataType) -> pa.DataType:
    from pyspark.sql import types as T

    simple: list[tuple[type[T.DataType], pa.DataType]] = [
        (T.ByteType, pa.int8()), (T.ShortType, pa.int16()), (T.IntegerType, pa.int32()),
        (T.LongType, pa.int64()), (T.FloatType, pa.float32()), (T.DoubleType, pa.float64()),
        (T.StringType, pa.string()), (T.BinaryType, pa.binary()), (T.BooleanType, pa.bool_()),
        (T.DateType, pa.date32()), (T.TimestampNTZType, pa.timestamp("us")),
        (T.TimestampType, pa.timestamp("us", tz="UTC")),
    ]
    for spark_type, arrow_type in simple:
        if type(t) is spark_type:
            return arrow_type
    if isinstance(t, T.DecimalType):
        return pa.decimal128(t.precision, t.scale)
    if isinstance(t, T.ArrayType):
        return pa.list_(_to_arrow(t.elementType))
    if isinstance(t, T.StructType):
        return pa.struct([pa.field(f.name, _to_arrow(f.dataType)) for f in t.fields])
    if isinstance(t, T.MapType):
        return pa.map_(_to_arrow(t.keyType), _to_arrow(t.valueType))
    raise DestinationError(f"Spark type {t.simpleString()} has no Arrow equivalent here")


def spark_schema_to_arrow(schema: T.StructType) -> pa.Schema:
    """The Arrow schema delta-rs would report for a Delta table with this Spark schema."""
    return pa.schema([pa.field(f.name, _to_arrow(f.dataType)) for f in schema.fields])


def conform_for_spark(batch: pa.Table, target_types: dict[str, pa.DataType]) -> pa.Table:
    """Cast columns to the storage form Spark accepts, and widen into existing columns.

    ``target_types`` maps lower-cased column names of an existing table to their Arrow
    types; a source column that passed the compatibility check but is narrower (say
    ``int32`` into a ``long`` column) is cast up, because Delta's ``mergeSchema`` refuses
    to merge ``int`` with ``long`` where delta-rs casts silently.
    """
    columns: list[pa.ChunkedArray] = []
    fields: list[pa.Field] = []
    for fld, column in zip(batch.schema, batch.columns, strict=True):
        want = target_types.get(fld.name.lower()) or normalize_type(fld.type)
        if pa.types.is_unsigned_integer(fld.type) and fld.name.lower() not in target_types:
            want = {8: pa.int16(), 16: pa.int32(), 32: pa.int64()}.get(
                fld.type.bit_width, fld.type
            )
        if pa.types.is_float16(fld.type) and fld.name.lower() not in target_types:
            want = pa.float32()
        if column.type != want:
            # safe=False only for timestamps: Delta stores microseconds, delta-rs truncates
            # nanoseconds the same way; any other lossy cast must fail loudly.
            column = column.cast(want, safe=not pa.types.is_timestamp(want))
        columns.append(column)
        fields.append(pa.field(fld.name, want))
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))

"""PostgreSQL → Arrow type mapping (the table in docs/connectors/postgresql.md).

Each source column maps to an Arrow type and a *projection*: how the read query selects
it so the driver hands over a value that converts to that Arrow type exactly.

* ``native``: selected as is; the driver's Arrow type already equals the declared one.
* ``text``: selected as ``CAST(col AS TEXT)``, i.e. PostgreSQL's own output function, then
  used as a string or parsed by Arrow (``numeric(p,s)`` → ``decimal128(p,s)``). Casting on
  the server is both exact and faster than converting the binary numeric format client-side.
* ``json_array``: selected as ``CAST(array_to_json(col) AS TEXT)``.

Rules that are decisions, not facts (also documented):

* ``numeric`` without a declared precision has no fixed scale, so no single decimal type
  holds every value exactly; it is read as its exact decimal text (``string``). Declare
  ``numeric(p,s)`` or cast in a ``source_query`` to get a decimal column.
* ``numeric(p,s)`` with ``p > 38`` or a negative scale exceeds Delta's ``decimal(38)`` and is
  read as text too.
* Arrays become JSON text: PostgreSQL arrays may be multi-dimensional and have any lower
  bound, which a Delta ``array`` column cannot represent; JSON text keeps every value.
* ``interval`` becomes ISO-8601 duration text (``P1Y2DT3H``): Arrow durations cannot hold
  months, and Delta has no interval type.
* Every other type (enums, inet, money, ranges, geometric types, timetz, xml, bit ...) is
  read as its PostgreSQL text output, so nothing is lost and the rule is one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

__all__ = ["PgType", "Projection", "arrow_type_for", "numeric_precision_scale"]

Projection = Literal["native", "text", "json_array"]

#: Delta (and Arrow decimal128) allow at most 38 digits.
MAX_DECIMAL_PRECISION = 38

_NATIVE: dict[str, pa.DataType] = {
    "int2": pa.int16(),
    "int4": pa.int32(),
    "int8": pa.int64(),
    "float4": pa.float32(),
    "float8": pa.float64(),
    "bool": pa.bool_(),
    "text": pa.string(),
    "varchar": pa.string(),
    "bpchar": pa.string(),
    "name": pa.string(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "timestamptz": pa.timestamp("us", tz="UTC"),
    "time": pa.time64("us"),
    "bytea": pa.binary(),
}


@dataclass(frozen=True)
class PgType:
    """A resolved column type: base type name (domains resolved), modifier, array flag."""

    typname: str
    typmod: int = -1
    is_array: bool = False


def numeric_precision_scale(typmod: int) -> tuple[int, int] | None:
    """``(precision, scale)`` of a ``numeric`` type modifier; ``None`` if unconstrained."""
    if typmod < 4:
        return None
    packed = typmod - 4
    precision = (packed >> 16) & 0xFFFF
    scale = packed & 0x7FF
    if scale & 0x400:  # PostgreSQL 15+ allows negative scales, stored as 11-bit two's complement
        scale -= 0x800
    return precision, scale


def arrow_type_for(t: PgType) -> tuple[pa.DataType, Projection]:
    """The declared Arrow type of a PostgreSQL type and how to select it."""
    if t.is_array:
        return pa.string(), "json_array"
    if t.typname == "numeric":
        ps = numeric_precision_scale(t.typmod)
        if ps is not None:
            precision, scale = ps
            if precision <= MAX_DECIMAL_PRECISION and 0 <= scale <= precision:
                return pa.decimal128(precision, scale), "text"
        return pa.string(), "text"
    native = _NATIVE.get(t.typname)
    if native is not None:
        return native, "native"
    # uuid, json, jsonb, interval and every type not listed: PostgreSQL's text output.
    return pa.string(), "text"

"""ClickHouse → Arrow type mapping (the table in docs/connectors/clickhouse.md).

Each column type maps to a declared Arrow type and a *projection*: how the read query
selects it so ClickHouse's Arrow output converts to the declared type exactly.

* ``native``: selected as is; the Arrow output is cast client-side to the declared type
  (safe casts only: they fail rather than round). ``UInt64`` widens to ``decimal128(20,0)``
  because Delta has no unsigned types; ``DateTime`` (seconds as ``uint32`` in ClickHouse's
  Arrow output) becomes an aware timestamp.
* ``string``: selected as ``toString(col)``: ClickHouse's own text output (canonical
  lowercase UUIDs, enum labels, exact big integers and decimals).
* ``json``: selected as ``toJSONString(col)``: arrays, maps and tuples as JSON text.

Decisions (also documented): ``Int128``/``UInt128``/``Int256``/``UInt256`` are text
because none of them always fits Delta's 38-digit decimals (``Int128`` reaches 39 digits);
``Decimal(P,S)`` with ``P > 38`` is text for the same reason; nested types are JSON text
(as in the PostgreSQL and Snowflake connectors) so one rule covers any nesting depth.
A type with no sensible column value (``AggregateFunction`` states, ``Nothing``, unknown
types) is refused with an error naming the column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

from dataloader_sdk.connectors.arrow import conform as shared_conform

__all__ = [
    "ChType",
    "Projection",
    "UnsupportedTypeError",
    "arrow_type_for",
    "conform",
    "parse_type",
    "seconds_as_timestamp",
]

Projection = Literal["native", "string", "json"]

#: Delta (and Arrow decimal128) allow at most 38 digits.
MAX_DECIMAL_PRECISION = 38

_NATIVE: dict[str, pa.DataType] = {
    "Int8": pa.int8(), "Int16": pa.int16(), "Int32": pa.int32(), "Int64": pa.int64(),
    # Delta has no unsigned integers: widen to the next signed type that holds every value.
    "UInt8": pa.int16(), "UInt16": pa.int32(), "UInt32": pa.int64(),
    "UInt64": pa.decimal128(20, 0),
    "Float32": pa.float32(), "Float64": pa.float64(), "Bool": pa.bool_(),
    "String": pa.string(), "Date": pa.date32(), "Date32": pa.date32(),
}
_AS_STRING = frozenset({
    "Int128", "Int256", "UInt128", "UInt256", "UUID", "Enum8", "Enum16", "IPv4", "IPv6",
})
_AS_JSON = frozenset({
    "Array", "Map", "Tuple", "Nested", "JSON", "Object", "Variant", "Dynamic",
    "Point", "Ring", "LineString", "MultiLineString", "Polygon", "MultiPolygon",
})
_WRAPPERS = re.compile(r"^(Nullable|LowCardinality)\((.*)\)$", re.S)
_CALL = re.compile(r"^([A-Za-z0-9_]+)(?:\((.*)\))?$", re.S)


class UnsupportedTypeError(ValueError):
    """A ClickHouse type the connector cannot read into a column value."""


@dataclass(frozen=True)
class ChType:
    """A parsed column type: base name, raw arguments text, nullability."""

    name: str
    args: str = ""
    nullable: bool = False


def _split_args(args: str) -> list[str]:
    """Top-level comma-separated arguments (respecting parentheses and quotes)."""
    out: list[str] = []
    depth, quote, start = 0, "", 0
    for i, ch in enumerate(args):
        if quote:
            if ch == quote and args[i - 1] != "\\":
                quote = ""
        elif ch in "'\"`":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(args[start:i].strip())
            start = i + 1
    tail = args[start:].strip()
    if tail:
        out.append(tail)
    return out


def parse_type(text: str) -> ChType:
    """Parse a ClickHouse type (``Nullable(LowCardinality(String))`` → ``String``, nullable).

    ``SimpleAggregateFunction(f, T)`` stores plain ``T`` values and is read as ``T``.
    """
    text = text.strip()
    nullable = False
    while (m := _WRAPPERS.match(text)) is not None:
        nullable = nullable or m.group(1) == "Nullable"
        text = m.group(2).strip()
    call = _CALL.match(text)
    if call is None:
        return ChType(text, "", nullable)
    name, args = call.group(1), (call.group(2) or "").strip()
    if name == "SimpleAggregateFunction":
        parts = _split_args(args)
        inner = parse_type(parts[-1]) if len(parts) >= 2 else ChType(name, args)
        return ChType(inner.name, inner.args, nullable or inner.nullable)
    return ChType(name, args, nullable)


def _tz(args: list[str], index: int) -> str:
    if len(args) > index:
        return args[index].strip().strip("'\"")
    # DateTime values are instants (seconds since the epoch); a column without a zone is
    # only *displayed* in the server's zone, so the instant is kept and labelled UTC.
    return "UTC"


def _unit(precision: int) -> Literal["s", "ms", "us", "ns"]:
    if precision <= 0:
        return "s"
    if precision <= 3:
        return "ms"
    if precision <= 6:
        return "us"
    return "ns"


def arrow_type_for(t: ChType, column: str = "") -> tuple[pa.DataType, Projection]:
    """The declared Arrow type of a ClickHouse type and how to select it.

    Raises:
        UnsupportedTypeError: the type has no column value dataloader can load.
    """
    native = _NATIVE.get(t.name)
    if native is not None:
        return native, "native"
    args = _split_args(t.args)
    if t.name == "FixedString":
        # Fixed-width bytes, NUL-padded: binary keeps them exactly.
        return pa.binary(), "native"
    if t.name == "DateTime":
        return pa.timestamp("s", tz=_tz(args, 0)), "native"
    if t.name == "DateTime64":
        precision = int(args[0]) if args and args[0].isdigit() else 3
        return pa.timestamp(_unit(precision), tz=_tz(args, 1)), "native"
    if t.name in ("Decimal", "Decimal32", "Decimal64", "Decimal128", "Decimal256"):
        precision, scale = _decimal(t.name, args)
        if precision <= MAX_DECIMAL_PRECISION:
            return pa.decimal128(precision, scale), "native"
        return pa.string(), "string"
    if t.name in _AS_STRING:
        return pa.string(), "string"
    if t.name in _AS_JSON:
        return pa.string(), "json"
    where = f"column {column!r} has " if column else ""
    raise UnsupportedTypeError(
        f"{where}ClickHouse type {t.name}{'(' + t.args + ')' if t.args else ''}, which "
        "dataloader cannot load; select a plain value in a source_query instead (e.g. "
        "finalizeAggregation(col) for an AggregateFunction state, or toString(col))"
    )


def _decimal(name: str, args: list[str]) -> tuple[int, int]:
    fixed = {"Decimal32": 9, "Decimal64": 18, "Decimal128": 38, "Decimal256": 76}
    if name in fixed:
        return fixed[name], int(args[0]) if args else 0
    precision = int(args[0]) if args else 10
    return precision, int(args[1]) if len(args) > 1 else 0


def seconds_as_timestamp(arr: pa.Array, target: pa.DataType) -> pa.Array:
    """``DateTime`` arrives as ``uint32`` seconds since the epoch."""
    if pa.types.is_timestamp(target) and pa.types.is_integer(arr.type):
        return arr.cast(pa.int64()).cast(pa.timestamp("s")).cast(pa.timestamp("s", tz=target.tz))
    return arr


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """``batch`` with exactly ``schema``'s types; casts fail rather than round."""
    return shared_conform(batch, schema, adapt=seconds_as_timestamp)

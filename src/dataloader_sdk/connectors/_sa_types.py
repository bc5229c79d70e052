"""SQLAlchemy column type → Arrow type, and DBAPI value → Arrow value conversion.

The table is in docs/connectors/sqlalchemy.md. The generic connector reads raw DBAPI
values (no SQLAlchemy result processing, which would e.g. round SQLite decimals through
float with a warning) and converts them here, per declared Arrow type, so the rules are
explicit and identical for every dialect.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timezone
from decimal import Decimal
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

__all__ = ["MYSQL_DIALECTS", "arrow_type_for", "to_arrow", "to_python"]

MAX_DECIMAL_PRECISION = 38

#: Dialect names of MySQL and MariaDB (``mariadb+pymysql://`` URLs report ``mariadb``).
MYSQL_DIALECTS = ("mysql", "mariadb")


def _integer_type(t: sa.types.TypeEngine[Any], dialect_name: str) -> pa.DataType:
    unsigned = bool(getattr(t, "unsigned", False))
    name = type(t).__name__.upper()
    if dialect_name == "sqlite":
        # SQLite stores every INTEGER as a 64-bit value whatever the declared name says.
        return pa.int64()
    if name == "TINYINT" and getattr(t, "display_width", None) == 1 \
            and dialect_name in MYSQL_DIALECTS:
        # BOOL/BOOLEAN are aliases of TINYINT(1) and reflect as TINYINT; MySQL 8 keeps the
        # display width for exactly this case. Read as bool like Connector/J and Spark do.
        return pa.bool_()
    if name == "TINYINT":
        return pa.int16() if unsigned else pa.int8()
    if isinstance(t, sa.SmallInteger):
        return pa.int32() if unsigned else pa.int16()
    if isinstance(t, sa.BigInteger):
        return pa.decimal128(20, 0) if unsigned else pa.int64()
    return pa.int64() if unsigned else pa.int32()


def arrow_type_for(t: sa.types.TypeEngine[Any], dialect_name: str) -> pa.DataType:
    """The declared Arrow type of a reflected SQLAlchemy column type.

    Order matters: ``Boolean`` before ``Integer`` (MySQL's BOOL is TINYINT(1)), ``Float``
    before ``Numeric`` (Float subclasses Numeric).
    """
    if isinstance(t, sa.Boolean):
        return pa.bool_()
    if isinstance(t, sa.Integer):
        return _integer_type(t, dialect_name)
    if isinstance(t, sa.Float):
        # Always float64: widening float32 is exact, narrowing a DOUBLE would not be.
        return pa.float64()
    if isinstance(t, sa.Numeric):
        p, s = t.precision, t.scale
        if p is not None and p <= MAX_DECIMAL_PRECISION and s is not None and 0 <= s <= p:
            return pa.decimal128(p, s)
        # No declared scale (or more than 38 digits): exact decimal text.
        return pa.string()
    if isinstance(t, sa.DateTime):
        # A MySQL TIMESTAMP is an instant (stored in UTC, shown in the session time zone,
        # which the connector sets to UTC); DATETIME is a wall clock.
        instant = t.timezone or (dialect_name in MYSQL_DIALECTS and isinstance(t, sa.TIMESTAMP))
        return pa.timestamp("us", tz="UTC") if instant else pa.timestamp("us")
    if isinstance(t, sa.Date):
        return pa.date32()
    if isinstance(t, sa.Time):
        return pa.time64("us")
    if isinstance(t, sa.LargeBinary | sa.types._Binary) or type(t).__name__ == "BIT":
        # MySQL BIT(n) arrives as big-endian bytes, not text.
        return pa.binary()
    # String, Text, Enum, JSON, Uuid, Interval, NullType and anything unknown: text.
    return pa.string()


def _as_decimal(v: Any) -> Decimal:
    if isinstance(v, Decimal):
        return v
    if isinstance(v, float):
        # repr is the shortest text that round-trips: what the user stored, not 2**-n noise.
        return Decimal(repr(v))
    return Decimal(str(v))


def _as_datetime(v: Any, aware: bool) -> datetime:
    if isinstance(v, str):
        v = datetime.fromisoformat(v.strip())
    elif isinstance(v, date) and not isinstance(v, datetime):
        v = datetime(v.year, v.month, v.day)
    if not isinstance(v, datetime):
        raise TypeError(f"{v!r} is not a timestamp")
    if aware:
        # Naive values in a tz-declared column are taken as UTC (the only safe reading).
        return v.replace(tzinfo=timezone.utc) if v.tzinfo is None else v.astimezone(timezone.utc)
    return v


def _as_date(v: Any) -> date:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    return date.fromisoformat(str(v).strip()[:10])


def _as_time(v: Any) -> time:
    if isinstance(v, time):
        return v
    if hasattr(v, "total_seconds"):  # MySQL drivers return TIME as timedelta
        micros = round(v.total_seconds() * 1_000_000)
        return time(micros // 3_600_000_000, micros // 60_000_000 % 60,
                    micros // 1_000_000 % 60, micros % 1_000_000)
    return time.fromisoformat(str(v).strip())


def _as_str(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, bytes | bytearray | memoryview):
        return bytes(v).decode("utf-8")
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _as_bytes(v: Any) -> bytes:
    if isinstance(v, str):
        return v.encode("utf-8")
    return bytes(v)


def _converter(t: pa.DataType) -> Callable[[Any], Any]:
    if pa.types.is_boolean(t):
        return bool
    if pa.types.is_integer(t):
        return int
    if pa.types.is_floating(t):
        return float
    if pa.types.is_decimal(t):
        return _as_decimal
    if pa.types.is_timestamp(t):
        aware = t.tz is not None
        return lambda v: _as_datetime(v, aware)
    if pa.types.is_date(t):
        return _as_date
    if pa.types.is_time(t):
        return _as_time
    if pa.types.is_binary(t):
        return _as_bytes
    return _as_str


def to_python(value: Any, t: pa.DataType) -> Any:
    """A raw DBAPI value converted to the Python value of Arrow type ``t``."""
    return None if value is None else _converter(t)(value)


def to_arrow(values: Sequence[Any], t: pa.DataType) -> pa.Array:
    """A column of raw DBAPI values as an Arrow array of exactly type ``t``."""
    convert = _converter(t)
    return pa.array([None if v is None else convert(v) for v in values], type=t)

"""The ``sqlalchemy`` connector's type map: SQLAlchemy column type → Arrow type.

The table is in docs/connectors/sqlalchemy.md. Values are converted by the shared
:mod:`dataloader_sdk.connectors.values` (raw DBAPI values, no SQLAlchemy result
processing, which would e.g. round SQLite decimals through float with a warning).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import sqlalchemy as sa

__all__ = ["MYSQL_DIALECTS", "arrow_type_for"]

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

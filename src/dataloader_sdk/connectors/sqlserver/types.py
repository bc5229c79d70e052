"""SQL Server → Arrow type mapping (the table in docs/connectors/sqlserver.md).

Each column maps to an Arrow type and a *projection*, i.e. how the read selects it so
both read paths (arrow-odbc and pyodbc) hand over the same value:

* ``native``: as is.
* ``guid``: ``LOWER(CONVERT(NVARCHAR(36), col))``. SQL Server renders GUIDs in upper case
  and drivers differ (pyodbc may return ``uuid.UUID``); the canonical lower-case text is
  produced by the server, so full and incremental loads and both paths agree.
* ``utc``: ``datetimeoffset`` as ``CONVERT(DATETIME2(7), SWITCHOFFSET(col, '+00:00'))``:
  the instant in UTC. ODBC has no portable type for ``datetimeoffset`` (pyodbc cannot
  fetch SQL type -155 without a converter), so the offset is resolved on the server.
* ``text``: ``CONVERT(NVARCHAR(MAX), col)`` (``xml``).

Decisions (also in the doc): ``datetime2(7)``/``time(7)`` are read at microsecond
precision, truncating the 100 ns digit: Delta timestamps are microseconds, and pyodbc
truncates the same way, so both paths and the watermark probe agree. ``tinyint`` (0-255)
widens to ``int16`` (Delta has no unsigned types). ``sql_variant``, ``geography``,
``geometry`` and ``hierarchyid`` are refused with a clear error: convert them in a
``source_query``.

The projections are SQLAlchemy elements compiled to T-SQL for the ``mssql`` dialect
(another dialect may register its own compilation, as the tests' ODBC stand-in does).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects import mssql
from sqlalchemy.sql.elements import ColumnElement

from dataloader_sdk.connectors.sql.functions import TemplateFunction, template_function

__all__ = [
    "UNSUPPORTED",
    "CastParam",
    "MssqlType",
    "Projection",
    "RowCountAll",
    "arrow_type_for",
    "cast_type",
    "project",
]

Projection = Literal["native", "guid", "utc", "text"]

_NATIVE: dict[str, pa.DataType] = {
    "bit": pa.bool_(),
    "tinyint": pa.int16(),
    "smallint": pa.int16(),
    "int": pa.int32(),
    "bigint": pa.int64(),
    "money": pa.decimal128(19, 4),
    "smallmoney": pa.decimal128(10, 4),
    "float": pa.float64(),
    "real": pa.float32(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us"),
    "datetime2": pa.timestamp("us"),
    "smalldatetime": pa.timestamp("us"),
    "time": pa.time64("us"),
    "char": pa.string(),
    "varchar": pa.string(),
    "nchar": pa.string(),
    "nvarchar": pa.string(),
    "text": pa.string(),
    "ntext": pa.string(),
    "binary": pa.binary(),
    "varbinary": pa.binary(),
    "image": pa.binary(),
    "timestamp": pa.binary(),  # INFORMATION_SCHEMA's name of rowversion
    "rowversion": pa.binary(),
}

#: Types refused with a clear error (no lossless Arrow representation).
UNSUPPORTED = ("sql_variant", "geography", "geometry", "hierarchyid")

@dataclass(frozen=True)
class MssqlType:
    """A column's type as ``INFORMATION_SCHEMA.COLUMNS`` describes it."""

    name: str
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None
    datetime_precision: int | None = None

    def __str__(self) -> str:
        if self.name in ("decimal", "numeric"):
            return f"{self.name}({self.precision},{self.scale})"
        if self.name in ("char", "varchar", "nchar", "nvarchar", "binary", "varbinary"):
            size = "max" if self.max_length in (None, -1) else str(self.max_length)
            return f"{self.name}({size})"
        if self.name in ("datetime2", "datetimeoffset", "time") and (
            self.datetime_precision is not None
        ):
            return f"{self.name}({self.datetime_precision})"
        return self.name


def arrow_type_for(t: MssqlType) -> tuple[pa.DataType, Projection] | None:
    """The declared Arrow type and projection of a SQL Server type; ``None`` if refused."""
    if t.name in ("decimal", "numeric"):
        # SQL Server decimals are at most (38, s) with 0 <= s <= p: always decimal128.
        precision = t.precision if t.precision is not None else 18
        return pa.decimal128(precision, t.scale or 0), "native"
    if t.name == "uniqueidentifier":
        return pa.string(), "guid"
    if t.name == "datetimeoffset":
        return pa.timestamp("us", tz="UTC"), "utc"
    if t.name == "xml":
        return pa.string(), "text"
    native = _NATIVE.get(t.name)
    return (native, "native") if native is not None else None


# -- dialect-compiled projections -------------------------------------------------------


# The names are the statements' cache identity; the test stand-in gives these elements a
# PostgreSQL spelling of its own (tests/servers/odbc_standin.py).
_GuidText = template_function("guid_text", "LOWER(CONVERT(NVARCHAR(36), {}))", sa.String())
_Utc = template_function(
    "to_utc", "CONVERT(DATETIME2(7), SWITCHOFFSET({}, '+00:00'))", sa.DateTime())
_AsText = template_function("as_text", "CONVERT(NVARCHAR(MAX), {})", sa.String())
#: The projections that wrap a column in one function.
_WRAPPERS: dict[str, type[TemplateFunction]] = {"guid": _GuidText, "utc": _Utc, "text": _AsText}


class RowCountAll(TemplateFunction):
    """``COUNT_BIG(*)`` on SQL Server (``count(*)`` is an int there and overflows)."""

    inherit_cache = True
    name = "row_count_all"
    type = sa.BigInteger()
    template = "COUNT_BIG(*)"


def project(expr: ColumnElement[Any], projection: Projection) -> ColumnElement[Any]:
    """``expr`` wrapped in its projection."""
    wrapper = _WRAPPERS.get(projection)
    return wrapper(expr) if wrapper is not None else expr


# -- bound parameters -------------------------------------------------------------------


class CastParam(sa.types.TypeDecorator[Any]):
    """A parameter sent as text and cast on the server: ``CAST(? AS <target>)``.

    arrow-odbc binds every parameter as text; the explicit cast makes the comparison use
    the intended type (never an implicit conversion of the column to text).
    """

    impl = sa.Unicode
    cache_ok = True

    def __init__(self, target: sa.types.TypeEngine[Any]) -> None:
        super().__init__()
        self.target = target

    def bind_expression(self, bindvalue: Any) -> Any:
        return sa.cast(bindvalue, self.target)


def _decimal_scale(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def cast_type(value: Any) -> sa.types.TypeEngine[Any]:
    """The T-SQL type of a bound value (``bool`` before ``int``: it subclasses it)."""
    if isinstance(value, bool):
        return mssql.BIT()
    if isinstance(value, int):
        return sa.BigInteger()
    if isinstance(value, Decimal):
        # A bare DECIMAL is DECIMAL(18,0) in T-SQL: state the value's own scale.
        return sa.Numeric(38, min(_decimal_scale(value), 38))
    if isinstance(value, float):
        return sa.Float(53)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return mssql.DATETIMEOFFSET(7)  # type: ignore[no-untyped-call]
        return mssql.DATETIME2(7)  # type: ignore[no-untyped-call]
    if isinstance(value, date):
        # upper-case DATE: mssql's generic Date renders DATETIME for unknown server versions
        return sa.DATE()
    if isinstance(value, str):
        return sa.Unicode()
    raise TypeError(f"cannot bind a {type(value).__name__} value in a predicate")

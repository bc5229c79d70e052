"""Oracle → Arrow type mapping (the table in docs/connectors/oracle.md).

Each column maps to an Arrow type and a *projection* (how the read selects it), so the
data frames python-oracledb produces convert to the declared type exactly:

* ``native``: as is (oracledb's own Arrow type equals or widens safely to the declared one).
* ``number``: ``CAST(col AS NUMBER(p,s))``: the declared precision travels in the result
  metadata, so oracledb (``fetch_decimals=True``) builds ``decimal128(p,s)``/``int64``
  instead of its default ``double``.
* ``number_text``: ``TO_CHAR(col, 'TM9')`` with a fixed decimal point: exact decimal text.
* ``double``: ``CAST(col AS BINARY_DOUBLE)`` (Oracle ``FLOAT(b)``).
* ``utc``: ``SYS_EXTRACT_UTC(col)``: the instant of a ``TIMESTAMP WITH [LOCAL] TIME ZONE``
  in UTC, resolved on the server (no session time zone involved).
* ``rowid``: ``ROWIDTOCHAR(col)``.

Decisions (recorded in the doc as well):

* ``NUMBER`` without precision or scale: **string** (exact decimal text). Such a column
  can hold 38 significant digits at any scale (1e-130 .. 1e125), so no single
  ``decimal128(p,s)`` holds every value, and oracledb's default (``double``) would round
  silently. Declare ``NUMBER(p,s)`` or cast in a ``source_query`` to get a typed column.
  The same rule as the PostgreSQL connector's unconstrained ``numeric``.
* ``NUMBER(p,0)`` with ``p <= 18`` → ``int64``; ``NUMBER(p,s)`` with ``0 <= s <= p <= 38``
  → ``decimal128(p,s)``; ``NUMBER(*,s)``/``INTEGER`` → ``decimal128(38,s)``; a negative
  scale or ``s > p`` → string.
* ``DATE`` has a time of day to the second → ``timestamp('us')`` (exact).
* ``TIMESTAMP(7..9)`` is truncated to microseconds (Delta's precision).
* ``INTERVAL``, ``XMLTYPE``, ``BFILE``, object, spatial and ``VECTOR`` types are refused with
  a clear error: convert them in a ``source_query``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from dataloader_sdk.connectors.sql.functions import TemplateFunction, template_function
from dataloader_sdk.connectors.values import datetime_text

__all__ = [
    "OracleType",
    "Projection",
    "TextParam",
    "arrow_type_for",
    "bind_type",
    "param_value",
    "project",
]

Projection = Literal["native", "number", "number_text", "double", "utc", "rowid"]

MAX_DECIMAL_PRECISION = 38
MAX_INT64_DIGITS = 18

_STRINGS = ("VARCHAR2", "NVARCHAR2", "CHAR", "NCHAR", "CLOB", "NCLOB", "LONG", "VARCHAR")
_BINARIES = ("RAW", "BLOB", "LONG RAW")
_TS = re.compile(r"^TIMESTAMP(?:\((\d)\))?( WITH (LOCAL )?TIME ZONE)?$")


@dataclass(frozen=True)
class OracleType:
    """A column type as ``ALL_TAB_COLUMNS`` describes it."""

    name: str
    precision: int | None = None
    scale: int | None = None

    def __str__(self) -> str:
        if self.name == "NUMBER" and (self.precision is not None or self.scale is not None):
            p = "*" if self.precision is None else str(self.precision)
            return f"NUMBER({p},{self.scale or 0})"
        return self.name


def _number(t: OracleType) -> tuple[pa.DataType, Projection]:
    p, s = t.precision, t.scale
    if p is None and s is None:
        return pa.string(), "number_text"  # unbounded NUMBER: see the module docstring
    scale = s or 0
    precision = MAX_DECIMAL_PRECISION if p is None else p
    if scale < 0 or scale > precision or precision > MAX_DECIMAL_PRECISION:
        return pa.string(), "number_text"
    if scale == 0 and precision <= MAX_INT64_DIGITS:
        return pa.int64(), "number"
    return pa.decimal128(precision, scale), "number"


def arrow_type_for(t: OracleType) -> tuple[pa.DataType, Projection] | None:
    """The declared Arrow type and projection of an Oracle type; ``None`` if refused."""
    name = t.name.upper()
    if name in ("NUMBER", "DECIMAL", "INTEGER"):
        return _number(t)
    if name == "FLOAT":
        return pa.float64(), "double"
    if name == "BINARY_DOUBLE":
        return pa.float64(), "native"
    if name == "BINARY_FLOAT":
        return pa.float32(), "native"
    if name == "DATE":
        return pa.timestamp("us"), "native"
    if name == "BOOLEAN":
        return pa.bool_(), "native"
    if name in _STRINGS:
        return pa.string(), "native"
    if name in _BINARIES:
        return pa.binary(), "native"
    if name in ("ROWID", "UROWID"):
        return pa.string(), "rowid"
    match = _TS.match(name)
    if match:
        if match.group(2):
            return pa.timestamp("us", tz="UTC"), "utc"
        return pa.timestamp("us"), "native"
    return None


# -- dialect-compiled projections -------------------------------------------------------


_CastNumber = template_function("ora_cast_number", "CAST({} AS NUMBER({},{}))")
#: The projections that wrap a column in one function.
_WRAPPERS: dict[str, type[TemplateFunction]] = {
    "number_text": template_function(
        "ora_number_text", "TO_CHAR({}, 'TM9', 'NLS_NUMERIC_CHARACTERS=''.,''')"),
    "double": template_function("ora_double", "CAST({} AS BINARY_DOUBLE)"),
    "utc": template_function("ora_utc", "SYS_EXTRACT_UTC({})"),
    "rowid": template_function("ora_rowid", "ROWIDTOCHAR({})"),
}


def project(expr: ColumnElement[Any], projection: Projection,
            arrow: pa.DataType) -> ColumnElement[Any]:
    """``expr`` wrapped in its projection."""
    if projection == "number":
        p, s = ((arrow.precision, arrow.scale) if pa.types.is_decimal(arrow)
                else (MAX_INT64_DIGITS, 0))
        return _CastNumber(expr, sa.literal_column(str(int(p))), sa.literal_column(str(int(s))))
    wrapper = _WRAPPERS.get(projection)
    return wrapper(expr) if wrapper is not None else expr


# -- bound parameters -------------------------------------------------------------------

_TS_FORMAT = "YYYY-MM-DD HH24:MI:SS.FF6"


class TextParam(sa.types.TypeDecorator[Any]):
    """A date/time value bound as text with an explicit format function.

    ``TO_TIMESTAMP(:p, 'YYYY-MM-DD HH24:MI:SS.FF6')`` keeps microseconds whatever the
    driver's default bind type for ``datetime`` is, and no NLS setting is involved.
    """

    impl = sa.String
    cache_ok = True

    def __init__(self, function: str, fmt: str) -> None:
        super().__init__()
        self.function = function
        self.fmt = fmt

    def bind_expression(self, bindvalue: Any) -> Any:
        return getattr(sa.func, self.function)(bindvalue, sa.literal_column(f"'{self.fmt}'"))


def bind_type(value: Any) -> sa.types.TypeEngine[Any] | None:
    """A wrapping type for date/time values; ``None`` to bind natively."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return TextParam("TO_TIMESTAMP_TZ", _TS_FORMAT + " TZH:TZM")
        return TextParam("TO_TIMESTAMP", _TS_FORMAT)
    if isinstance(value, date):
        return TextParam("TO_DATE", "YYYY-MM-DD")
    return None


def param_value(value: Any) -> Any:
    """The Python value oracledb binds for a predicate value (see :func:`bind_type`)."""
    if isinstance(value, bool):
        return 1 if value else 0  # no SQL BOOLEAN before 23ai; compare with NUMBER(1)
    if isinstance(value, datetime):
        return datetime_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return value

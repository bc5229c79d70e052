"""ClickHouse SQL: a minimal SQLAlchemy dialect and server-side query parameters.

Identifiers are always double-quoted; every bound value is rendered as a ClickHouse
server-side parameter ``{name:Type}`` whose type is chosen from the Python value
(:func:`param_type`) and whose text is what ClickHouse parses for that type
(:func:`param_text`). Values never enter the SQL text.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine.default import DefaultDialect
from sqlalchemy.sql.compiler import IdentifierPreparer, SQLCompiler

from dataloader_sdk.model import ScalarValue

__all__ = ["ChParam", "ClickHouseDialect", "param_text", "param_type"]


class ChParam(sa.types.TypeDecorator[Any]):
    """A bound value with its ClickHouse parameter type (``Int64``, ``DateTime64(6, 'UTC')``)."""

    impl = sa.String
    cache_ok = True

    def __init__(self, ch_type: str) -> None:
        super().__init__()
        self.ch_type = ch_type


class _ChPreparer(IdentifierPreparer):
    """Always double-quote: ClickHouse names are case-sensitive, and a backslash is an
    escape character inside quoted identifiers, so it is doubled too."""

    def __init__(self, dialect: DefaultDialect) -> None:
        super().__init__(dialect, initial_quote='"', escape_quote='"')

    def _requires_quotes(self, value: str) -> bool:
        return True

    def _escape_identifier(self, value: str) -> str:
        return value.replace("\\", "\\\\").replace('"', '""')


class _ChCompiler(SQLCompiler):
    """Renders each bound value as a server-side parameter ``{name:Type}``."""

    def bindparam_string(  # type: ignore[override]
        self, name: str, post_compile: bool = False, **kw: Any
    ) -> str:
        rendered: str = super().bindparam_string(name, post_compile=post_compile, **kw)
        bind_type = kw.get("bindparam_type")
        if isinstance(bind_type, ChParam) and not post_compile:
            return f"{{{name}:{bind_type.ch_type}}}"
        return rendered


class ClickHouseDialect(DefaultDialect):
    """Just enough of a SQLAlchemy dialect to compile structured selects for ClickHouse."""

    name = "clickhouse"
    # 'named' keeps '%' in a verbatim source_query as is (no pyformat doubling).
    default_paramstyle = "named"
    statement_compiler = _ChCompiler
    preparer = _ChPreparer  # type: ignore[assignment]
    supports_statement_cache = False


def param_type(value: ScalarValue) -> str:
    """The ClickHouse type a predicate value is sent as (exact: no value is narrowed)."""
    if isinstance(value, bool):
        return "Bool"
    if isinstance(value, int):
        for name, lo, hi in (("Int64", -(2**63), 2**63), ("UInt64", 0, 2**64),
                             ("Int128", -(2**127), 2**127), ("Int256", -(2**255), 2**255)):
            if lo <= value < hi:
                return name
        raise TypeError(f"integer {value} does not fit ClickHouse's Int256")
    if isinstance(value, Decimal):
        digits, scale = _decimal_shape(value)
        if digits > 76:
            raise TypeError(f"decimal {value} has more than 76 digits")
        return f"Decimal({digits}, {scale})"
    if isinstance(value, float):
        return "Float64"
    if isinstance(value, datetime):
        return "DateTime64(6, 'UTC')"
    if isinstance(value, date):
        return "Date32"
    if isinstance(value, str):
        return "String"
    raise TypeError(f"cannot bind a {type(value).__name__} value in a predicate")


def _decimal_shape(value: Decimal) -> tuple[int, int]:
    _sign, digits, exponent = value.as_tuple()
    scale = max(0, -int(exponent)) if isinstance(exponent, int) else 0
    whole = len(digits) + (int(exponent) if isinstance(exponent, int) and exponent > 0 else 0)
    return max(whole, scale + 1), scale


def param_text(value: ScalarValue) -> Any:
    """A value as ClickHouse parses its parameter type (timestamps in UTC, exact decimals).

    A naive datetime is taken to be UTC: ClickHouse DateTime columns hold instants and are
    mapped to UTC timestamps, so a naive watermark can only have come from UTC.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return value

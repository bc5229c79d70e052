"""Snowflake SQL: a minimal SQLAlchemy dialect and exact decimal binding.

Identifiers are always double-quoted, so a name from the catalog is used exactly as
stored; values are ``qmark`` parameters. A ``Decimal`` travels as exact text with
``CAST(? AS NUMERIC(p, s))`` in the statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine.default import DefaultDialect
from sqlalchemy.sql.compiler import IdentifierPreparer

__all__ = ["SnowflakeDialect", "bindable", "decimal_type"]


class _SnowflakePreparer(IdentifierPreparer):
    """Always double-quote: an identifier from the catalog is used exactly as stored."""

    def _requires_quotes(self, value: str) -> bool:
        return True


class SnowflakeDialect(DefaultDialect):
    """Just enough of a SQLAlchemy dialect to compile structured selects for Snowflake."""

    name = "snowflake"
    default_paramstyle = "qmark"
    preparer = _SnowflakePreparer
    supports_statement_cache = False


def bindable(values: Sequence[Any]) -> tuple[Any, ...]:
    """Decimals travel as exact text (cast back by :meth:`SnowflakeConnector.bind_type`)."""
    return tuple(format(v, "f") if isinstance(v, Decimal) else v for v in values)


class CastDecimal(sa.types.TypeDecorator[Any]):
    """A decimal bound as text and cast to ``NUMERIC(p, s)`` in the statement."""

    impl = sa.String
    cache_ok = True

    def __init__(self, precision: int, scale: int) -> None:
        super().__init__()
        self.precision, self.scale = precision, scale

    def bind_expression(self, bindvalue: Any) -> Any:
        return sa.cast(bindvalue, sa.Numeric(self.precision, self.scale))


def decimal_type(value: Decimal) -> CastDecimal:
    """The bind type of a decimal: exact text cast to the smallest ``NUMERIC(p, s)``."""
    _sign, digits, exponent = value.as_tuple()
    scale = max(0, -int(exponent)) if isinstance(exponent, int) else 0
    whole = len(digits) + (int(exponent) if isinstance(exponent, int) and exponent > 0 else 0)
    return CastDecimal(min(38, max(whole, scale + 1)), scale)

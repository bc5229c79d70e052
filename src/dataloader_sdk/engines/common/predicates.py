"""Render structured predicates as SQL predicate text for the Delta engines.

delta-rs and Spark take replace-where, merge and query predicates only as SQL text, so
this (with ``spark/sql.py``) is the one place in the SDK where values become literals.
Identifiers are always quoted; values are rendered from their Python type, never from
user-supplied text. :class:`SqlText` holds what both dialects share (expressions,
comparisons, NULL tests, OR groups, AND lists, and which Python types become literals,
refusing NaN and infinity) and the plain literal forms below; a dialect states only its
identifier quoting and the literal forms it types differently (Spark: ``spark/sql.py``).
The module-level functions are the delta-rs dialect.

Literal forms were chosen by testing deltalake 1.6 (see docs/engines.md):

* timestamps are *untyped* string literals (``'2024-01-02T00:00:00.000005Z'``) that the
  planner coerces to the column's type. ``TIMESTAMP '...'`` is parsed as a nanosecond
  timestamp without zone and the write path then fails with "Invalid comparison operation:
  Timestamp(µs, "UTC") >= Timestamp(ns)"; ``CAST(... AS DECIMAL(38, s))`` fails the same
  way against a ``decimal(10, s)`` column.
* tz-aware datetimes are converted to UTC and rendered with a ``Z``; naive ones without.
* decimals and floats are plain positional numbers (no exponent).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime, timezone
from decimal import Decimal

from dataloader_sdk.errors import ConfigError
from dataloader_sdk.model import AnyOf, Coalesce, Column, Compare, CursorExpr, IsNull, Predicate

__all__ = [
    "DELTA_RS_SQL",
    "SqlText",
    "quote_ident",
    "render_expr",
    "render_literal",
    "render_predicate",
    "render_where",
]

_OPS = frozenset({">=", ">", "<=", "<", "="})


def check_name(name: object) -> str:
    """``name`` if it can be an identifier at all (quoting handles the rest)."""
    if not isinstance(name, str) or not name or "\x00" in name:
        raise ConfigError(f"invalid column name {name!r}: must be a non-empty string")
    return name


def check_text(text: str) -> str:
    """``text`` if it can be a string literal."""
    if "\x00" in text:
        raise ConfigError("a predicate value contains a NUL character")
    return text


class SqlText:
    """Predicate rendering shared by the SQL dialects of the engines."""

    def quote_ident(self, name: str) -> str:
        """A quoted identifier."""
        raise NotImplementedError

    def render_literal(self, value: object) -> str:
        """A literal for ``value`` that compares correctly with the column's type.

        Raises:
            ConfigError: the value cannot be represented (NaN, infinity, unsupported type).
        """
        # bool before int: bool is an int subclass.
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, int):
            return self.integer(value)
        if isinstance(value, Decimal):
            if not value.is_finite():
                raise ConfigError(f"cannot compare with non-finite decimal {value}")
            return self.decimal(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ConfigError(f"cannot compare with non-finite float {value}")
            return self.floating(value)
        if isinstance(value, datetime):
            if value.tzinfo is not None and value.utcoffset() is not None:
                return self.utc_timestamp(value.astimezone(timezone.utc).replace(tzinfo=None))
            return self.local_timestamp(value)
        if isinstance(value, date):
            return self.calendar_date(value)
        if isinstance(value, str):
            return self.string(check_text(value))
        raise ConfigError(f"cannot render a predicate value of type {type(value).__name__}")

    # The literal forms; each receives a value render_literal has checked. These are the
    # plain forms DataFusion (delta-rs) coerces to the compared column's type (see the
    # module docstring); a dialect overrides those it types differently (spark/sql.py).

    def integer(self, value: int) -> str:
        """A plain integer."""
        return str(value)

    def decimal(self, value: Decimal) -> str:
        """A positional number, no exponent (``value`` is finite)."""
        return format(value, "f")

    def floating(self, value: float) -> str:
        """A positional number (``value`` is finite): repr round-trips, Decimal's 'f'
        avoids exponents the parser may not accept."""
        return format(Decimal(repr(value)), "f")

    def utc_timestamp(self, value: datetime) -> str:
        """An instant (``value`` is naive and in UTC): an untyped string with a ``Z``."""
        return self.string(value.isoformat(timespec="microseconds") + "Z")

    def local_timestamp(self, value: datetime) -> str:
        """A timestamp without time zone (``value`` is naive): an untyped string."""
        return self.string(value.isoformat(timespec="microseconds"))

    def calendar_date(self, value: date) -> str:
        """A date: an untyped ISO date string."""
        return self.string(value.isoformat())

    def string(self, text: str) -> str:
        """Single-quoted, embedded quotes doubled (``text`` holds no NUL)."""
        return "'" + check_text(text).replace("'", "''") + "'"

    def _qualified(self, name: str, alias: str | None) -> str:
        return f"{alias}.{self.quote_ident(name)}" if alias else self.quote_ident(name)

    def render_expr(self, expr: CursorExpr, alias: str | None = None) -> str:
        """A column or ``coalesce(a, b)``, optionally qualified by a table alias."""
        if isinstance(expr, Column):
            return self._qualified(expr.name, alias)
        if isinstance(expr, Coalesce):
            if not expr.names:
                raise ConfigError("Coalesce needs at least one column")
            return "coalesce(" + ", ".join(self._qualified(n, alias) for n in expr.names) + ")"
        raise ConfigError(f"unsupported cursor expression {expr!r}")

    def render_predicate(self, predicate: Predicate, alias: str | None = None) -> str:
        """One predicate as SQL text."""
        if isinstance(predicate, Compare):
            if predicate.op not in _OPS:
                raise ConfigError(f"unsupported comparison operator {predicate.op!r}")
            return (f"{self.render_expr(predicate.expr, alias)} {predicate.op} "
                    f"{self.render_literal(predicate.value)}")
        if isinstance(predicate, IsNull):
            suffix = "IS NOT NULL" if predicate.negate else "IS NULL"
            return f"{self.render_expr(predicate.expr, alias)} {suffix}"
        if isinstance(predicate, AnyOf):
            if not predicate.predicates:
                raise ConfigError("AnyOf needs at least one predicate")
            return "(" + " OR ".join(
                f"({self.render_predicate(p, alias)})" for p in predicate.predicates) + ")"
        raise ConfigError(f"unsupported predicate {predicate!r}")

    def render_where(
        self, predicates: Sequence[Predicate], alias: str | None = None
    ) -> str | None:
        """The predicates ANDed, each parenthesised; ``None`` when there are none."""
        if not predicates:
            return None
        return " AND ".join(f"({self.render_predicate(p, alias)})" for p in predicates)


class DeltaRsSql(SqlText):
    """DataFusion SQL as delta-rs parses it: the plain literal forms of :class:`SqlText`."""

    def quote_ident(self, name: str) -> str:
        """A double-quoted identifier (embedded quotes doubled)."""
        return '"' + check_name(name).replace('"', '""') + '"'


#: The delta-rs dialect; the functions below are its methods.
DELTA_RS_SQL = DeltaRsSql()
quote_ident = DELTA_RS_SQL.quote_ident
render_expr = DELTA_RS_SQL.render_expr
render_literal = DELTA_RS_SQL.render_literal
render_predicate = DELTA_RS_SQL.render_predicate
render_where = DELTA_RS_SQL.render_where

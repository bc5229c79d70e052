"""Spark SQL text for the Spark engine: quoted names and typed, escaped literals.

Delta's ``replaceWhere`` option takes its predicate only as SQL text, so (as with
``_predicates`` for delta-rs) this is the one place where values become literals. The
merge condition, the sequence guard and :meth:`SparkEngine.count` use the same renderer,
so a predicate means the same thing everywhere. Nothing here imports pyspark.

Literal forms (checked against Spark 4.0 / Delta 4.0, and valid Databricks SQL):

* timestamps carry their type explicitly — ``TIMESTAMP_LTZ '...Z'`` for aware datetimes
  (converted to UTC), ``TIMESTAMP_NTZ '...'`` for naive ones — so the meaning does not
  depend on the session's ``spark.sql.timestampType`` or time zone;
* decimals are ``BD`` literals (exact), floats ``D`` literals, integers beyond ``BIGINT``
  ``BD`` literals; negative numbers are parenthesised;
* strings without ``\\`` or ``'`` are quoted as is; any other string is rendered as
  ``CAST(X'<utf-8 hex>' AS STRING)``, which means the same under every setting of
  ``spark.sql.parser.escapedStringLiterals`` and cannot break out of the literal.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime, timezone
from decimal import Decimal

from dataloader_sdk.errors import ConfigError
from dataloader_sdk.model import (
    Coalesce,
    Column,
    Compare,
    CursorExpr,
    IsNull,
    Predicate,
    TargetName,
    identifier_problem,
)

__all__ = [
    "quote_ident",
    "quote_target",
    "render_expr",
    "render_literal",
    "render_predicate",
    "render_where",
]

_OPS = frozenset({">=", ">", "<=", "<", "="})
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1


def quote_ident(name: str) -> str:
    """A backtick-quoted Spark identifier (embedded backticks doubled)."""
    if not isinstance(name, str) or not name or "\x00" in name:
        raise ConfigError(f"invalid column name {name!r}: must be a non-empty string")
    return "`" + name.replace("`", "``") + "`"


def quote_target(target: TargetName, default_catalog: str | None = None) -> str:
    """``\\`catalog\\`.\\`schema\\`.\\`table\\``` for a catalog table, each part validated.

    Raises:
        ConfigError: a part is not a simple identifier (``[A-Za-z_][A-Za-z0-9_]*``).
    """
    parts = list(target.parts)
    if target.catalog is None and default_catalog:
        parts.insert(0, default_catalog)
    for part in parts:
        if (problem := identifier_problem(part, simple=True)) is not None:
            raise ConfigError(f"target {target}: {problem}")
    return ".".join(quote_ident(p) for p in parts)


def _qualified(name: str, alias: str | None) -> str:
    return f"{alias}.{quote_ident(name)}" if alias else quote_ident(name)


def render_expr(expr: CursorExpr, alias: str | None = None) -> str:
    """```col``` or ``coalesce(`a`, `b`)``, optionally qualified by a table alias."""
    if isinstance(expr, Column):
        return _qualified(expr.name, alias)
    if isinstance(expr, Coalesce):
        if not expr.names:
            raise ConfigError("Coalesce needs at least one column")
        return "coalesce(" + ", ".join(_qualified(n, alias) for n in expr.names) + ")"
    raise ConfigError(f"unsupported cursor expression {expr!r}")


def _string(text: str) -> str:
    if "\x00" in text:
        raise ConfigError("a predicate value contains a NUL character")
    if "\\" in text or "'" in text:
        return f"CAST(X'{text.encode('utf-8').hex().upper()}' AS STRING)"
    return f"'{text}'"


def _signed(text: str) -> str:
    return f"({text})" if text.startswith("-") else text


def render_literal(value: object) -> str:
    """A typed Spark SQL literal for ``value``.

    Raises:
        ConfigError: the value cannot be represented (NaN, infinity, unsupported type).
    """
    # bool before int: bool is an int subclass.
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        if _LONG_MIN <= value <= _LONG_MAX:
            return _signed(str(value))
        return _signed(f"{value}BD")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ConfigError(f"cannot compare with non-finite decimal {value}")
        return _signed(format(value, "f") + "BD")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError(f"cannot compare with non-finite float {value}")
        return _signed(repr(value) + "D")
    if isinstance(value, datetime):
        if value.tzinfo is not None and value.utcoffset() is not None:
            utc = value.astimezone(timezone.utc).replace(tzinfo=None)
            return f"TIMESTAMP_LTZ '{utc.isoformat(sep=' ', timespec='microseconds')}Z'"
        return f"TIMESTAMP_NTZ '{value.isoformat(sep=' ', timespec='microseconds')}'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, str):
        return _string(value)
    raise ConfigError(f"cannot render a predicate value of type {type(value).__name__}")


def render_predicate(predicate: Predicate, alias: str | None = None) -> str:
    """One predicate as Spark SQL text."""
    if isinstance(predicate, Compare):
        if predicate.op not in _OPS:
            raise ConfigError(f"unsupported comparison operator {predicate.op!r}")
        return (
            f"{render_expr(predicate.expr, alias)} {predicate.op} "
            f"{render_literal(predicate.value)}"
        )
    if isinstance(predicate, IsNull):
        suffix = "IS NOT NULL" if predicate.negate else "IS NULL"
        return f"{render_expr(predicate.expr, alias)} {suffix}"
    raise ConfigError(f"unsupported predicate {predicate!r}")


def render_where(predicates: Sequence[Predicate], alias: str | None = None) -> str | None:
    """The predicates ANDed, each parenthesised; ``None`` when there are none."""
    if not predicates:
        return None
    return " AND ".join(f"({render_predicate(p, alias)})" for p in predicates)

"""Spark SQL text for the Spark engine: quoted names and typed, escaped literals.

Delta's ``replaceWhere`` option takes its predicate only as SQL text, so (as with
``common/predicates.py`` for delta-rs, whose shared renderer this extends) this is the one place
where values become literals. The merge condition, the sequence guard and
:meth:`SparkEngine.count` use the same renderer, so a predicate means the same thing
everywhere. Nothing here imports pyspark.

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

from datetime import date, datetime
from decimal import Decimal

from dataloader_sdk.engines.common.predicates import SqlText, check_name, check_text
from dataloader_sdk.errors import ConfigError
from dataloader_sdk.model import TargetName, identifier_problem

__all__ = [
    "SPARK_SQL",
    "quote_ident",
    "quote_target",
    "render_expr",
    "render_where",
]

_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1


def _signed(text: str) -> str:
    return f"({text})" if text.startswith("-") else text


def _string(text: str) -> str:
    check_text(text)
    if "\\" in text or "'" in text:
        return f"CAST(X'{text.encode('utf-8').hex().upper()}' AS STRING)"
    return f"'{text}'"


class SparkSql(SqlText):
    """Spark SQL (and Databricks SQL): backtick identifiers, typed literals."""

    def quote_ident(self, name: str) -> str:
        """A backtick-quoted Spark identifier (embedded backticks doubled)."""
        return "`" + check_name(name).replace("`", "``") + "`"

    def integer(self, value: int) -> str:
        """A ``BIGINT`` literal, or a ``BD`` literal beyond its range."""
        if _LONG_MIN <= value <= _LONG_MAX:
            return _signed(str(value))
        return _signed(f"{value}BD")

    def decimal(self, value: Decimal) -> str:
        """An exact ``BD`` literal."""
        return _signed(format(value, "f") + "BD")

    def floating(self, value: float) -> str:
        """A ``D`` (double) literal."""
        return _signed(repr(value) + "D")

    def utc_timestamp(self, value: datetime) -> str:
        """``TIMESTAMP_LTZ '...Z'``: the same instant under every session time zone."""
        return f"TIMESTAMP_LTZ '{value.isoformat(sep=' ', timespec='microseconds')}Z'"

    def local_timestamp(self, value: datetime) -> str:
        """``TIMESTAMP_NTZ '...'``."""
        return f"TIMESTAMP_NTZ '{value.isoformat(sep=' ', timespec='microseconds')}'"

    def calendar_date(self, value: date) -> str:
        """``DATE '...'``."""
        return f"DATE '{value.isoformat()}'"

    def string(self, text: str) -> str:
        """See the module docstring."""
        return _string(text)


#: The Spark dialect; the functions below are the methods the Spark engine uses (render
#: a literal or a single predicate with ``SPARK_SQL`` itself).
SPARK_SQL = SparkSql()
quote_ident = SPARK_SQL.quote_ident
render_expr = SPARK_SQL.render_expr
render_where = SPARK_SQL.render_where


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

"""Snowflake SQL: a minimal SQLAlchemy dialect, exact decimal binding, Spark JDBC options.

Identifiers are always double-quoted, so a name from the catalog is used exactly as
stored; values are ``qmark`` parameters. A ``Decimal`` travels as exact text with
``CAST(? AS NUMERIC(p, s))`` in the statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine.default import DefaultDialect
from sqlalchemy.sql.compiler import IdentifierPreparer

from dataloader_sdk.errors import ConfigError, FieldProblem, ValidationError
from dataloader_sdk.model import SourceConfig, SourceObject

if TYPE_CHECKING:
    from dataloader_sdk.connectors.jdbc import JdbcOptions
    from dataloader_sdk.secrets import Secret

__all__ = ["SNOWFLAKE_JDBC_DRIVER", "SnowflakeDialect", "bindable", "decimal_type",
           "snowflake_jdbc_options"]

SNOWFLAKE_JDBC_DRIVER = "net.snowflake.client.jdbc.SnowflakeDriver"


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


def snowflake_jdbc_options(
    config: SourceConfig,
    secret: Secret | None,
    obj: SourceObject | None = None,
    *,
    fetchsize: int | None = None,
) -> JdbcOptions:
    """JDBC options (Snowflake JDBC driver) for a ``snowflake`` source.

    Raises:
        ValidationError: missing account/database, or a ``snowflake_pem`` source (the JDBC
            driver would need the key as a file on every executor; use the Python read).
    """
    from dataloader_sdk.connectors.jdbc import JdbcOptions, check_url_fields

    problems: list[FieldProblem] = []
    if config.db_type == "snowflake_pem":
        problems.append(FieldProblem("db_type", "Spark JDBC reads support password "
                                     "authentication only; read snowflake_pem sources with "
                                     "the Python (Arrow) path"))
    account = config.options.get("account")
    if not isinstance(account, str) or not account:
        problems.append(FieldProblem("options.account", "a JDBC read needs the account"))
    if not config.database:
        problems.append(FieldProblem("database", "a JDBC read needs the database"))
    if problems:
        raise ValidationError(f"source {config.name!r} for a Spark JDBC read", problems)
    # The account becomes part of the host name; both must stay plain host names.
    check_url_fields(config.name, account=account, host=config.host, port=config.port)
    host = config.host or f"{account}.snowflakecomputing.com"
    port = f":{config.port}" if config.port else ""
    props: dict[str, str] = {"db": str(config.database)}
    for key in ("warehouse", "role", "schema"):
        value = config.options.get(key)
        if isinstance(value, str):
            props[key] = value
    table: str | None = None
    query: str | None = None
    if obj is not None:
        if obj.query is not None:
            query = obj.query
        elif obj.table is not None:
            table = str(SnowflakeDialect().identifier_preparer.format_table(
                sa.table(obj.table, schema=obj.schema)))
        else:
            raise ConfigError(f"source {config.name!r}: name a source table or query")
    from sqlalchemy.dialects import registry

    registry.register("dataloader_snowflake", __name__, "SnowflakeDialect")
    return JdbcOptions(
        url=f"jdbc:snowflake://{host}{port}/", driver=SNOWFLAKE_JDBC_DRIVER,
        user=config.username, password=secret, fetchsize=fetchsize or 10_000, table=table,
        query=query, properties=props, dialect="dataloader_snowflake",
    )

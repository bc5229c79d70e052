"""Spark JDBC options of a ``clickhouse`` source: the URL and the driver class."""

from __future__ import annotations

from dataloader_sdk.connectors.clickhouse.sql import ClickHouseDialect
from dataloader_sdk.connectors.jdbc import JdbcFlavor, check_url_fields
from dataloader_sdk.errors import FieldProblem, ValidationError
from dataloader_sdk.model import SourceConfig

__all__ = ["CLICKHOUSE_JDBC_DRIVER", "DEFAULT_PORTS", "clickhouse_jdbc_options"]

#: HTTP ports by ``options.secure``.
DEFAULT_PORTS = {False: 8123, True: 8443}
CLICKHOUSE_JDBC_DRIVER = "com.clickhouse.jdbc.ClickHouseDriver"


def _url(config: SourceConfig) -> str:
    """``jdbc:clickhouse://host:port/db`` over HTTP(S).

    Raises:
        ValidationError: no host (an embedded chDB source cannot be read by Spark).
    """
    if not config.host:
        raise ValidationError(f"source {config.name!r} for a Spark JDBC read", [FieldProblem(
            "host", "a JDBC read needs a ClickHouse server host (chDB is in-process only)")])
    port = config.port or DEFAULT_PORTS[config.options.get("secure") is True]
    check_url_fields(config.name, host=config.host, port=port, database=config.database)
    return f"jdbc:clickhouse://{config.host}:{port}/{config.database or 'default'}"


#: JDBC options (ClickHouse JDBC driver over HTTP) for a ``clickhouse`` source.
clickhouse_jdbc_options = JdbcFlavor(
    driver=CLICKHOUSE_JDBC_DRIVER, dialect_name="dataloader_clickhouse", url=_url,
    dialect=ClickHouseDialect, user=lambda config: config.username or "default",
    properties=lambda config: {"ssl": "true"} if config.options.get("secure") is True else {})

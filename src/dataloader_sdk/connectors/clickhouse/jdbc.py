"""Spark JDBC options of a ``clickhouse`` source: the URL and the driver class."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataloader_sdk.connectors.clickhouse.sql import ClickHouseDialect
from dataloader_sdk.connectors.jdbc import JdbcOptions, check_url_fields, jdbc_options_for
from dataloader_sdk.errors import FieldProblem, ValidationError
from dataloader_sdk.model import SourceConfig, SourceObject

if TYPE_CHECKING:
    from dataloader_sdk.secrets import Secret

__all__ = ["CLICKHOUSE_JDBC_DRIVER", "DEFAULT_PORTS", "clickhouse_jdbc_options"]

#: HTTP ports by ``options.secure``.
DEFAULT_PORTS = {False: 8123, True: 8443}
CLICKHOUSE_JDBC_DRIVER = "com.clickhouse.jdbc.ClickHouseDriver"


def clickhouse_jdbc_options(
    config: SourceConfig,
    secret: Secret | None,
    obj: SourceObject | None = None,
    *,
    fetchsize: int | None = None,
) -> JdbcOptions:
    """JDBC options (ClickHouse JDBC driver over HTTP) for a ``clickhouse`` source.

    Raises:
        ValidationError: no host (an embedded chDB source cannot be read by Spark).
    """
    from sqlalchemy.dialects import registry

    if not config.host:
        raise ValidationError(f"source {config.name!r} for a Spark JDBC read", [FieldProblem(
            "host", "a JDBC read needs a ClickHouse server host (chDB is in-process only)")])
    secure = config.options.get("secure") is True
    port = config.port or DEFAULT_PORTS[secure]
    check_url_fields(config.name, host=config.host, port=port, database=config.database)
    # Loadable by name for the Spark engine's literals.
    registry.register("dataloader_clickhouse", "dataloader_sdk.connectors.clickhouse.sql",
                      "ClickHouseDialect")
    return jdbc_options_for(
        config, secret, obj,
        url=f"jdbc:clickhouse://{config.host}:{port}/{config.database or 'default'}",
        driver=CLICKHOUSE_JDBC_DRIVER, dialect=ClickHouseDialect(),
        dialect_name="dataloader_clickhouse", fetchsize=fetchsize,
        user=config.username or "default", properties={"ssl": "true"} if secure else {})

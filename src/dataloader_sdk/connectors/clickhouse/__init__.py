"""The ``clickhouse`` connector: clickhouse-connect over HTTP, or embedded chDB.

* :mod:`.connector`: the factory and the connector (its differences from the template);
* :mod:`.probes`: the probe hooks (the answer's type, the change signature);
* :mod:`.types`: the type map; :mod:`.sql`: the dialect and parameters;
* :mod:`.jdbc`: Spark JDBC URL and driver.
"""

from dataloader_sdk.connectors.clickhouse.connector import (
    ClickHouseConnector,
    ClickHouseConnectorFactory,
)
from dataloader_sdk.connectors.clickhouse.jdbc import (
    CLICKHOUSE_JDBC_DRIVER,
    clickhouse_jdbc_options,
)
from dataloader_sdk.connectors.clickhouse.sql import ClickHouseDialect, param_text, param_type

__all__ = [
    "CLICKHOUSE_JDBC_DRIVER",
    "ClickHouseConnector",
    "ClickHouseConnectorFactory",
    "ClickHouseDialect",
    "clickhouse_jdbc_options",
    "param_text",
    "param_type",
]

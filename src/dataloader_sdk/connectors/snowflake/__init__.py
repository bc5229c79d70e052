"""The ``snowflake`` and ``snowflake_pem`` connectors: the Python connector's Arrow batches.

* :mod:`.connector`: the factories and the connector (its differences from the template);
* :mod:`.types`: the type map; :mod:`.sql`: the dialect and exact decimal binding;
* :mod:`.keys`: private keys of ``snowflake_pem``; :mod:`.jdbc`: Spark JDBC options.
"""

from dataloader_sdk.connectors.snowflake.connector import (
    SnowflakeConnector,
    SnowflakeConnectorFactory,
    SnowflakePemConnectorFactory,
)
from dataloader_sdk.connectors.snowflake.jdbc import SNOWFLAKE_JDBC_DRIVER, snowflake_jdbc_options
from dataloader_sdk.connectors.snowflake.sql import SnowflakeDialect

__all__ = [
    "SNOWFLAKE_JDBC_DRIVER",
    "SnowflakeConnector",
    "SnowflakeConnectorFactory",
    "SnowflakeDialect",
    "SnowflakePemConnectorFactory",
    "snowflake_jdbc_options",
]

"""The ``snowflake`` and ``snowflake_pem`` connectors: the Python connector's Arrow batches.

* :mod:`.connector`: the ``snowflake`` factory and the connector (its differences);
* :mod:`.probes`: the probe hooks (the answer's type, the change signature);
* :mod:`.types`: the type map; :mod:`.sql`: the dialect and exact decimal binding;
* :mod:`.pem` and :mod:`.keys`: the ``snowflake_pem`` factory and its private keys;
* :mod:`.jdbc`: Spark JDBC options.
"""

from dataloader_sdk.connectors.snowflake.connector import (
    SnowflakeConnector,
    SnowflakeConnectorFactory,
)
from dataloader_sdk.connectors.snowflake.jdbc import SNOWFLAKE_JDBC_DRIVER, snowflake_jdbc_options
from dataloader_sdk.connectors.snowflake.pem import SnowflakePemConnectorFactory
from dataloader_sdk.connectors.snowflake.sql import SnowflakeDialect

__all__ = [
    "SNOWFLAKE_JDBC_DRIVER",
    "SnowflakeConnector",
    "SnowflakeConnectorFactory",
    "SnowflakeDialect",
    "SnowflakePemConnectorFactory",
    "snowflake_jdbc_options",
]

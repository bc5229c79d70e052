"""The ``oracle`` connector: python-oracledb thin mode, Arrow batches from the driver.

* :mod:`.connector`: the factory and the connector (its differences from the template);
* :mod:`.probes`: the probe hooks (the answer's type, the change signature);
* :mod:`.types`: the type map and projections; :mod:`.jdbc`: Spark JDBC URL and driver.
"""

from dataloader_sdk.connectors.oracle.connector import (
    OracleConnector,
    OracleConnectorFactory,
    oracle_error_kind,
)
from dataloader_sdk.connectors.oracle.jdbc import ORACLE_JDBC_DRIVER, oracle_jdbc_options

__all__ = [
    "ORACLE_JDBC_DRIVER",
    "OracleConnector",
    "OracleConnectorFactory",
    "oracle_error_kind",
    "oracle_jdbc_options",
]

"""The ``sqlserver`` connector: pyodbc for metadata and probes, arrow-odbc for bulk reads.

* :mod:`.connector`: the factory and the connector (its differences from the template);
* :mod:`.probes`: the probe hooks (the answer's type, the change signature);
* :mod:`.types`: the type map and projections; :mod:`.odbc`: the ODBC transport;
* :mod:`.jdbc`: Spark JDBC URL and driver.
"""

from dataloader_sdk.connectors.sqlserver.connector import (
    SqlServerConnector,
    SqlServerConnectorFactory,
)
from dataloader_sdk.connectors.sqlserver.jdbc import SQLSERVER_JDBC_DRIVER, sqlserver_jdbc_options

__all__ = [
    "SQLSERVER_JDBC_DRIVER",
    "SqlServerConnector",
    "SqlServerConnectorFactory",
    "sqlserver_jdbc_options",
]

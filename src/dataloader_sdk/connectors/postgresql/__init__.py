"""The ``postgresql`` connector: psycopg 3 for metadata and probes, ADBC for bulk reads.

* :mod:`.connector`: the factory and the connector (its differences from the template);
* :mod:`.probes`: the probe hooks (the answer's type, the change signature);
* :mod:`.options`: the typed options; :mod:`.types`: the type map;
* :mod:`.catalog`: catalog statements; :mod:`.read`: the ADBC/connectorx streams;
* :mod:`.jdbc`: Spark JDBC URL and driver.
"""

from dataloader_sdk.connectors.postgresql.connector import (
    PostgresConnector,
    PostgresConnectorFactory,
)
from dataloader_sdk.connectors.postgresql.jdbc import (
    POSTGRES_DRIVER,
    POSTGRES_JDBC_PACKAGE,
    postgres_jdbc_options,
)
from dataloader_sdk.connectors.postgresql.options import PostgresOptions

__all__ = [
    "POSTGRES_DRIVER",
    "POSTGRES_JDBC_PACKAGE",
    "PostgresConnector",
    "PostgresConnectorFactory",
    "PostgresOptions",
    "postgres_jdbc_options",
]

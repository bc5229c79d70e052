"""The ``sqlalchemy`` connector: any database with a SQLAlchemy dialect (SQLite, MariaDB...).

* :mod:`.connector`: the factory and the connector (its differences from the template);
* :mod:`.probes`: the probe hooks (the answer's type, the change signature);
* :mod:`.types`: the type map; :mod:`.sqlite_cursor`: exact cursor comparisons on SQLite.
"""

from dataloader_sdk.connectors.sqlalchemy_url.connector import (
    SqlAlchemyConnector,
    SqlAlchemyConnectorFactory,
)

__all__ = ["SqlAlchemyConnector", "SqlAlchemyConnectorFactory"]

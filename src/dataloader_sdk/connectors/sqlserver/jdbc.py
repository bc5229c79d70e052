"""Spark JDBC options of a ``sqlserver`` source: the URL and the driver class."""

from __future__ import annotations

from sqlalchemy.engine import Dialect

from dataloader_sdk.connectors.jdbc import JdbcFlavor, check_url_fields
from dataloader_sdk.errors import ConfigError
from dataloader_sdk.model import SourceConfig

__all__ = ["SQLSERVER_JDBC_DRIVER", "sqlserver_jdbc_options"]

SQLSERVER_JDBC_DRIVER = "com.microsoft.sqlserver.jdbc.SQLServerDriver"


def _url(config: SourceConfig) -> str:
    """Microsoft's URL; ``options.encrypt``/``trust_server_certificate`` carry over."""
    opts = config.options
    if not config.host or not config.database:
        raise ConfigError(f"source {config.name!r}: a JDBC read needs host and database")
    port = config.port or 1433
    check_url_fields(config.name, host=config.host, port=port, database=config.database)
    encrypt = str(bool(opts.get("encrypt", True))).lower()
    trust = str(bool(opts.get("trust_server_certificate", False))).lower()
    return (f"jdbc:sqlserver://{config.host}:{port};databaseName={{{config.database}}};"
            f"encrypt={encrypt};trustServerCertificate={trust}")


def _dialect() -> Dialect:
    from sqlalchemy.dialects import mssql

    return mssql.dialect()  # type: ignore[no-untyped-call]


#: JDBC options for a ``sqlserver`` source (Microsoft's JDBC driver); see JdbcFlavor.
sqlserver_jdbc_options = JdbcFlavor(driver=SQLSERVER_JDBC_DRIVER, dialect_name="mssql",
                                    url=_url, dialect=_dialect, properties=lambda _: {})

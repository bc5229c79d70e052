"""Spark JDBC options of a ``sqlserver`` source: the URL and the driver class."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataloader_sdk.connectors.jdbc import JdbcOptions, check_url_fields, jdbc_options_for
from dataloader_sdk.errors import ConfigError
from dataloader_sdk.model import SourceConfig, SourceObject

if TYPE_CHECKING:
    from dataloader_sdk.secrets import Secret

__all__ = ["SQLSERVER_JDBC_DRIVER", "sqlserver_jdbc_options"]

SQLSERVER_JDBC_DRIVER = "com.microsoft.sqlserver.jdbc.SQLServerDriver"
_PORT = 1433


def sqlserver_jdbc_options(
    config: SourceConfig,
    secret: Secret | None,
    obj: SourceObject | None = None,
    *,
    fetchsize: int | None = None,
) -> JdbcOptions:
    """JDBC options for a ``sqlserver`` source (Microsoft's JDBC driver).

    Args:
        config: the source (host, port, database, username; ``options.encrypt`` and
            ``options.trust_server_certificate`` carry over).
        secret: the resolved password.
        obj: the table (quoted by the mssql dialect) or query to read, if any.
        fetchsize: rows per round trip; default ``options.fetchsize`` or 10,000.
    """
    from sqlalchemy.dialects import mssql

    opts = config.options
    if not config.host or not config.database:
        raise ConfigError(f"source {config.name!r}: a JDBC read needs host and database")
    port = config.port or _PORT
    check_url_fields(config.name, host=config.host, port=port, database=config.database)
    url = (
        f"jdbc:sqlserver://{config.host}:{port};"
        f"databaseName={{{config.database}}};"
        f"encrypt={str(bool(opts.get('encrypt', True))).lower()};"
        f"trustServerCertificate={str(bool(opts.get('trust_server_certificate', False))).lower()}"
    )
    return jdbc_options_for(
        config, secret, obj, url=url, driver=SQLSERVER_JDBC_DRIVER,
        dialect=mssql.dialect(), dialect_name="mssql",  # type: ignore[no-untyped-call]
        fetchsize=fetchsize, properties={})

"""Spark JDBC options of an ``oracle`` source: the URL and the driver class."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataloader_sdk.connectors.jdbc import JdbcOptions, check_url_fields, jdbc_options_for
from dataloader_sdk.errors import ConfigError
from dataloader_sdk.model import SourceConfig, SourceObject

if TYPE_CHECKING:
    from dataloader_sdk.secrets import Secret

__all__ = ["ORACLE_JDBC_DRIVER", "oracle_jdbc_options"]

ORACLE_JDBC_DRIVER = "oracle.jdbc.OracleDriver"
_PORT = 1521


def oracle_jdbc_options(
    config: SourceConfig,
    secret: Secret | None,
    obj: SourceObject | None = None,
    *,
    fetchsize: int | None = None,
) -> JdbcOptions:
    """JDBC options for an ``oracle`` source (Oracle's thin JDBC driver).

    Args:
        config: the source (host, port, service name or SID, username).
        secret: the resolved password.
        obj: the table (quoted by the oracle dialect) or query to read, if any.
        fetchsize: rows per round trip; default ``options.fetchsize`` or 10,000
            (Oracle's JDBC default of 10 rows is far too small for bulk reads).
    """
    from sqlalchemy.dialects import oracle

    opts = config.options
    if not config.host:
        raise ConfigError(f"source {config.name!r}: a JDBC read needs the host")
    port = config.port or _PORT
    sid = opts.get("sid")
    service = opts.get("service_name") or config.database
    check_url_fields(config.name, host=config.host, port=port,
                     **({"options.sid": sid} if sid else {"service_name": service}))
    url = (f"jdbc:oracle:thin:@{config.host}:{port}:{sid}" if sid
           else f"jdbc:oracle:thin:@//{config.host}:{port}/{service}")
    return jdbc_options_for(
        config, secret, obj, url=url, driver=ORACLE_JDBC_DRIVER,
        dialect=oracle.dialect(), dialect_name="oracle",  # type: ignore[no-untyped-call]
        fetchsize=fetchsize, properties={})

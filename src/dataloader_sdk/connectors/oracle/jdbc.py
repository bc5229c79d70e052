"""Spark JDBC options of an ``oracle`` source: the URL and the driver class."""

from __future__ import annotations

from sqlalchemy.engine import Dialect

from dataloader_sdk.connectors.jdbc import JdbcFlavor, check_url_fields
from dataloader_sdk.errors import ConfigError
from dataloader_sdk.model import SourceConfig

__all__ = ["ORACLE_JDBC_DRIVER", "oracle_jdbc_options"]

ORACLE_JDBC_DRIVER = "oracle.jdbc.OracleDriver"


def _url(config: SourceConfig) -> str:
    """The thin driver's URL, by SID or by service name (``database``)."""
    opts = config.options
    if not config.host:
        raise ConfigError(f"source {config.name!r}: a JDBC read needs the host")
    port = config.port or 1521
    sid = opts.get("sid")
    service = opts.get("service_name") or config.database
    check_url_fields(config.name, host=config.host, port=port,
                     **({"options.sid": sid} if sid else {"service_name": service}))
    return (f"jdbc:oracle:thin:@{config.host}:{port}:{sid}" if sid
            else f"jdbc:oracle:thin:@//{config.host}:{port}/{service}")


def _dialect() -> Dialect:
    from sqlalchemy.dialects import oracle

    return oracle.dialect()  # type: ignore[no-untyped-call]


#: JDBC options for an ``oracle`` source (Oracle's thin JDBC driver; the default fetch
#: size of 10,000 replaces the driver's 10 rows); see JdbcFlavor.
oracle_jdbc_options = JdbcFlavor(driver=ORACLE_JDBC_DRIVER, dialect_name="oracle",
                                 url=_url, dialect=_dialect, properties=lambda _: {})

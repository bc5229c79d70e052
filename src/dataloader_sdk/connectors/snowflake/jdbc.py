"""Spark JDBC options of a ``snowflake`` source: the URL, driver and session properties."""

from __future__ import annotations

from dataloader_sdk.connectors.jdbc import JdbcFlavor, check_url_fields
from dataloader_sdk.connectors.snowflake.sql import SnowflakeDialect
from dataloader_sdk.errors import FieldProblem, ValidationError
from dataloader_sdk.model import SourceConfig

__all__ = ["SNOWFLAKE_JDBC_DRIVER", "snowflake_jdbc_options"]

SNOWFLAKE_JDBC_DRIVER = "net.snowflake.client.jdbc.SnowflakeDriver"


def _url(config: SourceConfig) -> str:
    """``jdbc:snowflake://<account>.snowflakecomputing.com/`` (or the configured host).

    Raises:
        ValidationError: missing account/database, or a ``snowflake_pem`` source (the JDBC
            driver would need the key as a file on every executor; use the Python read).
    """
    problems: list[FieldProblem] = []
    if config.db_type == "snowflake_pem":
        problems.append(FieldProblem("db_type", "Spark JDBC reads support password "
                                     "authentication only; read snowflake_pem sources with "
                                     "the Python (Arrow) path"))
    account = config.options.get("account")
    if not isinstance(account, str) or not account:
        problems.append(FieldProblem("options.account", "a JDBC read needs the account"))
    if not config.database:
        problems.append(FieldProblem("database", "a JDBC read needs the database"))
    if problems:
        raise ValidationError(f"source {config.name!r} for a Spark JDBC read", problems)
    # The account becomes part of the host name; both must stay plain host names.
    check_url_fields(config.name, account=account, host=config.host, port=config.port)
    host = config.host or f"{account}.snowflakecomputing.com"
    port = f":{config.port}" if config.port else ""
    return f"jdbc:snowflake://{host}{port}/"


def _properties(config: SourceConfig) -> dict[str, str]:
    props: dict[str, str] = {"db": str(config.database)}
    for key in ("warehouse", "role", "schema"):
        value = config.options.get(key)
        if isinstance(value, str):
            props[key] = value
    return props


#: JDBC options (Snowflake JDBC driver) for a ``snowflake`` source; see JdbcFlavor.
snowflake_jdbc_options = JdbcFlavor(
    driver=SNOWFLAKE_JDBC_DRIVER, dialect_name="dataloader_snowflake", url=_url,
    dialect=SnowflakeDialect, properties=_properties)

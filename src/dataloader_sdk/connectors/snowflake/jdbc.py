"""Spark JDBC options of a ``snowflake`` source: the URL, driver and session properties."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataloader_sdk.connectors.jdbc import JdbcOptions, check_url_fields, jdbc_options_for
from dataloader_sdk.connectors.snowflake.sql import SnowflakeDialect
from dataloader_sdk.errors import FieldProblem, ValidationError
from dataloader_sdk.model import SourceConfig, SourceObject

if TYPE_CHECKING:
    from dataloader_sdk.secrets import Secret

__all__ = ["SNOWFLAKE_JDBC_DRIVER", "snowflake_jdbc_options"]

SNOWFLAKE_JDBC_DRIVER = "net.snowflake.client.jdbc.SnowflakeDriver"


def snowflake_jdbc_options(
    config: SourceConfig,
    secret: Secret | None,
    obj: SourceObject | None = None,
    *,
    fetchsize: int | None = None,
) -> JdbcOptions:
    """JDBC options (Snowflake JDBC driver) for a ``snowflake`` source.

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
    props: dict[str, str] = {"db": str(config.database)}
    for key in ("warehouse", "role", "schema"):
        value = config.options.get(key)
        if isinstance(value, str):
            props[key] = value
    from sqlalchemy.dialects import registry

    registry.register("dataloader_snowflake", "dataloader_sdk.connectors.snowflake.sql",
                      "SnowflakeDialect")
    return jdbc_options_for(
        config, secret, obj, url=f"jdbc:snowflake://{host}{port}/",
        driver=SNOWFLAKE_JDBC_DRIVER, dialect=SnowflakeDialect(),
        dialect_name="dataloader_snowflake", fetchsize=fetchsize, properties=props)

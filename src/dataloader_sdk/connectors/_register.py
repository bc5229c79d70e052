"""Built-in connectors, registered through the same entry point as third-party plugins.

Targets are lazy ``"module:attr"`` strings, so listing db_types imports no driver.
Each connector module is its own entry point (``postgresql = "...connectors._register:postgresql"``).
"""

from __future__ import annotations

from dataloader_sdk.plugins import Registrations

__all__ = ["clickhouse", "oracle", "postgresql", "snowflake", "sqlalchemy", "sqlserver"]

_BUILTINS = {
    "postgresql": "postgresql:PostgresConnectorFactory",
    "sqlalchemy": "sqlalchemy_url:SqlAlchemyConnectorFactory",
    "sqlserver": "sqlserver:SqlServerConnectorFactory",
    "oracle": "oracle:OracleConnectorFactory",
    "snowflake": "snowflake:SnowflakeConnectorFactory",
    "snowflake_pem": "snowflake.pem:SnowflakePemConnectorFactory",
    "clickhouse": "clickhouse:ClickHouseConnectorFactory",
}


def _connector(*db_types: str) -> Registrations:
    return Registrations("db_type", {
        db_type: f"dataloader_sdk.connectors.{_BUILTINS[db_type]}" for db_type in db_types})


# One entry point per built-in connector (pyproject.toml), named after it, so a user can
# list, block or replace any one of them.
postgresql = _connector("postgresql")
sqlalchemy = _connector("sqlalchemy")
sqlserver = _connector("sqlserver")
oracle = _connector("oracle")
snowflake = _connector("snowflake", "snowflake_pem")
clickhouse = _connector("clickhouse")

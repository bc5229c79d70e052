"""Built-in connectors, registered through the same entry point as third-party plugins.

Targets are lazy ``"module:attr"`` strings, so listing db_types imports no driver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataloader_sdk.plugins import hookimpl

if TYPE_CHECKING:
    from dataloader_sdk.connectors.base import ConnectorFactory
    from dataloader_sdk.plugins import Registry

__all__ = ["dataloader_register_connectors"]

_BUILTINS = {
    "postgresql": "postgresql:PostgresConnectorFactory",
    "sqlalchemy": "sqlalchemy_url:SqlAlchemyConnectorFactory",
    "sqlserver": "sqlserver:SqlServerConnectorFactory",
    "oracle": "oracle:OracleConnectorFactory",
    "snowflake": "snowflake:SnowflakeConnectorFactory",
    "snowflake_pem": "snowflake:SnowflakePemConnectorFactory",
    "clickhouse": "clickhouse:ClickHouseConnectorFactory",
}


@hookimpl
def dataloader_register_connectors(registry: Registry[ConnectorFactory]) -> None:
    """Register the built-in db_types (the original system's six, plus ``sqlalchemy``)."""
    for db_type, target in _BUILTINS.items():
        registry.add(db_type, f"dataloader_sdk.connectors.{target}")

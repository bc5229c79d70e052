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


@hookimpl
def dataloader_register_connectors(registry: Registry[ConnectorFactory]) -> None:
    """Register ``postgresql`` and ``sqlalchemy``."""
    registry.add("postgresql", "dataloader_sdk.connectors.postgresql:PostgresConnectorFactory")
    registry.add(
        "sqlalchemy", "dataloader_sdk.connectors.sqlalchemy_url:SqlAlchemyConnectorFactory"
    )

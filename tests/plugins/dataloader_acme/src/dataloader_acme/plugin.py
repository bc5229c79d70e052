"""Hook implementations: the ``acme_csv`` and ``acme_sqlite`` connectors, the ``acme_snapshot``
strategy."""

from __future__ import annotations

from typing import Any

from dataloader_sdk.plugins import Registry, hookimpl


@hookimpl
def dataloader_register_connectors(registry: Registry[Any]) -> None:
    registry.add("acme_csv", "dataloader_acme.csv_connector:CsvConnectorFactory")
    registry.add("acme_sqlite", "dataloader_acme.sqlite_connector:AcmeSqliteConnectorFactory")


@hookimpl
def dataloader_register_strategies(registry: Registry[Any]) -> None:
    registry.add("acme_snapshot", "dataloader_acme.snapshot:SnapshotStrategy")

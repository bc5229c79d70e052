"""Hook implementations: registers the ``acme_csv`` connector and ``acme_snapshot`` strategy."""

from __future__ import annotations

from typing import Any

from dataloader_sdk.plugins import Registry, hookimpl


@hookimpl
def dataloader_register_connectors(registry: Registry[Any]) -> None:
    registry.add("acme_csv", "dataloader_acme.csv_connector:CsvConnectorFactory")


@hookimpl
def dataloader_register_strategies(registry: Registry[Any]) -> None:
    registry.add("acme_snapshot", "dataloader_acme.snapshot:SnapshotStrategy")

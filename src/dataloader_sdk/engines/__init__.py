"""Delta engines: ``delta_rs`` (embedded, no JVM) and ``spark`` (pyspark + delta-spark).

An engine writes one step as exactly one Delta commit (:class:`Engine`); the runner opens
it through an :class:`EngineFactory` registered under a name (``dataloader_register_engines``).
A third-party engine implements these protocols and returns the types below; the built-in
engines are importable from here without importing their libraries until first use:
``DeltaRsEngine`` needs ``deltalake``, ``SparkEngine`` needs pyspark and delta-spark only
when it writes.

Layout: ``base`` (the contract), ``delta_rs/`` and ``spark/`` (one package per engine),
``common/`` (what both engines share; private).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from dataloader_sdk.engines.base import (
    RECENT_COMMITS,
    Engine,
    EngineFactory,
    EngineSettings,
    Maintainable,
    MaintenanceOutcome,
    MaintenanceTask,
    TableFiles,
    WriteOutcome,
    find_commit,
)

if TYPE_CHECKING:
    from dataloader_sdk.engines.delta_rs import DeltaRsEngine, DeltaRsEngineFactory
    from dataloader_sdk.engines.spark import SparkEngine, SparkEngineFactory, SparkSettings

__all__ = [
    "RECENT_COMMITS",
    "DeltaRsEngine",
    "DeltaRsEngineFactory",
    "Engine",
    "EngineFactory",
    "EngineSettings",
    "Maintainable",
    "MaintenanceOutcome",
    "MaintenanceTask",
    "SparkEngine",
    "SparkEngineFactory",
    "SparkSettings",
    "TableFiles",
    "WriteOutcome",
    "find_commit",
]

#: Names imported from their engine package on first access (PEP 562).
_LAZY = {
    "DeltaRsEngine": "dataloader_sdk.engines.delta_rs",
    "DeltaRsEngineFactory": "dataloader_sdk.engines.delta_rs",
    "SparkEngine": "dataloader_sdk.engines.spark",
    "SparkEngineFactory": "dataloader_sdk.engines.spark",
    "SparkSettings": "dataloader_sdk.engines.spark",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

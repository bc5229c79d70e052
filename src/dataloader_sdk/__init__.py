"""dataloader-sdk: copy source tables into Delta Lake bronze tables, driven by a control DB.

The public API lives here; everything else is an implementation module. Attributes are
imported lazily (PEP 562) so ``import dataloader_sdk`` stays cheap and imports no driver,
no Spark and no SQLAlchemy engine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dataloader_sdk.config import Settings
    from dataloader_sdk.control.store import Claim, ControlStore
    from dataloader_sdk.errors import (
        ConfigError,
        DataLoaderError,
        DestinationError,
        DestinationTransientError,
        LeaseError,
        SecretError,
        SourceError,
        SourcePermanentError,
        SourceTransientError,
        StaleVersionError,
        StateError,
        UnknownNameError,
        ValidationError,
    )
    from dataloader_sdk.loader import DataLoader
    from dataloader_sdk.model import (
        RunRecord,
        SourceConfig,
        TableConfig,
        TableRecord,
        TableState,
        TargetName,
        Watermark,
    )
    from dataloader_sdk.plugins import PluginHost, hookimpl
    from dataloader_sdk.runner import ProgressUpdate

__version__ = "0.1.0"

_EXPORTS = {
    "Claim": "dataloader_sdk.control.store",
    "ConfigError": "dataloader_sdk.errors",
    "ControlStore": "dataloader_sdk.control.store",
    "DataLoader": "dataloader_sdk.loader",
    "DataLoaderError": "dataloader_sdk.errors",
    "DestinationError": "dataloader_sdk.errors",
    "DestinationTransientError": "dataloader_sdk.errors",
    "LeaseError": "dataloader_sdk.errors",
    "PluginHost": "dataloader_sdk.plugins",
    "ProgressUpdate": "dataloader_sdk.runner",
    "RunRecord": "dataloader_sdk.model",
    "SecretError": "dataloader_sdk.errors",
    "Settings": "dataloader_sdk.config",
    "SourceConfig": "dataloader_sdk.model",
    "SourceError": "dataloader_sdk.errors",
    "SourcePermanentError": "dataloader_sdk.errors",
    "SourceTransientError": "dataloader_sdk.errors",
    "StaleVersionError": "dataloader_sdk.errors",
    "StateError": "dataloader_sdk.errors",
    "TableConfig": "dataloader_sdk.model",
    "TableRecord": "dataloader_sdk.model",
    "TableState": "dataloader_sdk.model",
    "TargetName": "dataloader_sdk.model",
    "UnknownNameError": "dataloader_sdk.errors",
    "ValidationError": "dataloader_sdk.errors",
    "Watermark": "dataloader_sdk.model",
    "hookimpl": "dataloader_sdk.plugins",
}

__all__ = [
    "Claim",
    "ConfigError",
    "ControlStore",
    "DataLoader",
    "DataLoaderError",
    "DestinationError",
    "DestinationTransientError",
    "LeaseError",
    "PluginHost",
    "ProgressUpdate",
    "RunRecord",
    "SecretError",
    "Settings",
    "SourceConfig",
    "SourceError",
    "SourcePermanentError",
    "SourceTransientError",
    "StaleVersionError",
    "StateError",
    "TableConfig",
    "TableRecord",
    "TableState",
    "TargetName",
    "UnknownNameError",
    "ValidationError",
    "Watermark",
    "__version__",
    "hookimpl",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'dataloader_sdk' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__

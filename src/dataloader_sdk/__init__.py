"""dataloader-sdk: copy source tables into Delta Lake bronze tables, driven by a control DB.

The public API lives here; everything else is an implementation module. Attributes are
imported lazily (PEP 562) so ``import dataloader_sdk`` stays cheap and imports no driver,
no Spark and no SQLAlchemy engine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # The same names for type checkers and the API docs, which cannot run __getattr__
    # (``X as X`` marks a re-export); tests/unit/test_public_api.py keeps it equal to
    # _EXPORTS.
    from dataloader_sdk.config import Settings as Settings
    from dataloader_sdk.control.store import Claim as Claim
    from dataloader_sdk.control.store import ControlStore as ControlStore
    from dataloader_sdk.errors import ConfigError as ConfigError
    from dataloader_sdk.errors import DataLoaderError as DataLoaderError
    from dataloader_sdk.errors import DestinationError as DestinationError
    from dataloader_sdk.errors import DestinationTransientError as DestinationTransientError
    from dataloader_sdk.errors import LeaseError as LeaseError
    from dataloader_sdk.errors import SecretError as SecretError
    from dataloader_sdk.errors import SourceError as SourceError
    from dataloader_sdk.errors import SourcePermanentError as SourcePermanentError
    from dataloader_sdk.errors import SourceTransientError as SourceTransientError
    from dataloader_sdk.errors import StaleVersionError as StaleVersionError
    from dataloader_sdk.errors import StateError as StateError
    from dataloader_sdk.errors import UnknownNameError as UnknownNameError
    from dataloader_sdk.errors import ValidationError as ValidationError
    from dataloader_sdk.loader import DataLoader as DataLoader
    from dataloader_sdk.model import RunRecord as RunRecord
    from dataloader_sdk.model import SourceConfig as SourceConfig
    from dataloader_sdk.model import TableConfig as TableConfig
    from dataloader_sdk.model import TableRecord as TableRecord
    from dataloader_sdk.model import TableState as TableState
    from dataloader_sdk.model import TargetName as TargetName
    from dataloader_sdk.model import Watermark as Watermark
    from dataloader_sdk.plugins import PluginHost as PluginHost
    from dataloader_sdk.plugins import hookimpl as hookimpl
    from dataloader_sdk.progress import ProgressUpdate as ProgressUpdate

__version__ = "0.1.0"

#: The public API, written once: module → the names it provides, imported on first use.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "dataloader_sdk.config": ("Settings",),
    "dataloader_sdk.control.store": ("Claim", "ControlStore"),
    "dataloader_sdk.errors": (
        "ConfigError", "DataLoaderError", "DestinationError",
        "DestinationTransientError", "LeaseError", "SecretError", "SourceError",
        "SourcePermanentError", "SourceTransientError", "StaleVersionError", "StateError",
        "UnknownNameError", "ValidationError",
    ),
    "dataloader_sdk.loader": ("DataLoader",),
    "dataloader_sdk.model": (
        "RunRecord", "SourceConfig", "TableConfig", "TableRecord", "TableState", "TargetName",
        "Watermark",
    ),
    "dataloader_sdk.plugins": ("PluginHost", "hookimpl"),
    "dataloader_sdk.progress": ("ProgressUpdate",),
}
_HOME = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted([*_HOME, "__version__"])


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'dataloader_sdk' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__

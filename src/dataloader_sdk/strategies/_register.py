"""Registers the built-in strategies (entry point ``builtin_strategies``)."""

from __future__ import annotations

from typing import Any

from dataloader_sdk.plugins import Registry, hookimpl
from dataloader_sdk.strategies.base import Strategy

_BUILTINS = {
    "full": "full:FullStrategy",
    "incremental": "incremental:IncrementalStrategy",
    "append_only": "append_only:AppendOnlyStrategy",
    "rolling": "rolling:RollingStrategy",
    "check_and_load": "check_and_load:CheckAndLoadStrategy",
    "chunked_backfill": "chunked_backfill:ChunkedBackfillStrategy",
}


@hookimpl
def dataloader_register_strategies(registry: Registry[Strategy[Any]]) -> None:
    """The six built-in strategies, imported lazily."""
    for name, target in _BUILTINS.items():
        registry.add(name, f"dataloader_sdk.strategies.{target}")

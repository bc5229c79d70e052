"""Registers the built-in strategies (entry point ``builtin_strategies``)."""

from __future__ import annotations

from typing import Any

from dataloader_sdk.plugins import Registry, hookimpl
from dataloader_sdk.strategies.base import Strategy


@hookimpl
def dataloader_register_strategies(registry: Registry[Strategy[Any]]) -> None:
    """The built-in strategies, imported lazily."""
    registry.add("full", "dataloader_sdk.strategies.full:FullStrategy")
    registry.add("incremental", "dataloader_sdk.strategies.incremental:IncrementalStrategy")
    registry.add("append_only", "dataloader_sdk.strategies.append_only:AppendOnlyStrategy")

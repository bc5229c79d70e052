"""Registers the built-in engines (entry point ``builtin_engines``)."""

from __future__ import annotations

from dataloader_sdk.engines.base import EngineFactory
from dataloader_sdk.plugins import Registry, hookimpl


@hookimpl
def dataloader_register_engines(registry: Registry[EngineFactory]) -> None:
    """The built-in engines, imported lazily on first use."""
    registry.add("delta_rs", "dataloader_sdk.engines.delta_rs:DeltaRsEngineFactory")

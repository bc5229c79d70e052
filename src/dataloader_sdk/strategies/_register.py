"""The built-in strategies, one entry point each (``full = "...strategies._register:full"``).

Each is a :class:`~dataloader_sdk.plugins.Registrations` of one lazy target, so a user can
list, block or replace any one of them; listing them imports no strategy module.
"""

from __future__ import annotations

from dataloader_sdk.plugins import Registrations

__all__ = ["append_only", "check_and_load", "chunked_backfill", "full", "incremental",
           "rolling"]


def _strategy(name: str, target: str) -> Registrations:
    return Registrations("strategy", {name: f"dataloader_sdk.strategies.{target}"})


full = _strategy("full", "full:FullStrategy")
incremental = _strategy("incremental", "incremental:IncrementalStrategy")
append_only = _strategy("append_only", "append_only:AppendOnlyStrategy")
rolling = _strategy("rolling", "rolling:RollingStrategy")
check_and_load = _strategy("check_and_load", "check_and_load:CheckAndLoadStrategy")
chunked_backfill = _strategy("chunked_backfill", "chunked_backfill:ChunkedBackfillStrategy")

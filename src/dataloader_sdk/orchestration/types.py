"""The adapter's typed findings (defined with the store that makes them) and their JSON."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from datetime import datetime

from dataloader_sdk.control.findings import (
    FailedTable,
    Freshness,
    FreshnessStatus,
    QueuedTable,
    RetryAction,
    RetryDecision,
    StuckTable,
)
from dataloader_sdk.model import JSONValue

__all__ = [
    "FailedTable",
    "Freshness",
    "FreshnessStatus",
    "QueuedTable",
    "RetryAction",
    "RetryDecision",
    "StuckTable",
    "to_json",
]


def to_json(value: object) -> dict[str, JSONValue]:
    """One finding as a JSON object (datetimes as ISO-8601 strings, tuples as lists).

    Raises:
        TypeError: ``value`` is not a dataclass instance.
    """
    if not is_dataclass(value) or isinstance(value, type):
        raise TypeError(f"to_json takes a finding (a dataclass), got {type(value).__name__}")
    out: dict[str, JSONValue] = {}
    for f in fields(value):
        item = getattr(value, f.name)
        if isinstance(item, datetime):
            out[f.name] = item.isoformat()
        elif isinstance(item, tuple):
            out[f.name] = list(item)
        else:
            out[f.name] = item
    return out

"""Load strategies: pure planners, one module each, plus shared planning helpers.

What a strategy plugin needs is exported here (the built-in strategies live in their own
modules and register through entry points, see :mod:`dataloader_sdk.plugins`)::

    from dataloader_sdk.strategies import OptionReader, PlanContext, Strategy
"""

from __future__ import annotations

from dataloader_sdk.strategies.base import (
    OptionReader,
    PlanContext,
    Strategy,
    describe_state,
    parse_duration,
    schema_fingerprint,
)

__all__ = [
    "OptionReader",
    "PlanContext",
    "Strategy",
    "describe_state",
    "parse_duration",
    "schema_fingerprint",
]

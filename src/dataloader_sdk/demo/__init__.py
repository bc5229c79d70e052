"""The end-to-end demo: a SQLite source loaded into local Delta tables, twice, verified.

Run it with ``dataloader demo`` or ``python -m dataloader_sdk.demo``; call
:func:`run_demo` from Python (tests do) to get per-table results instead of text.
"""

from dataloader_sdk.demo.scenario import (
    DEMO_SOURCE,
    DEMO_TABLES,
    DemoResult,
    DemoTable,
    RoundResult,
    TableCheck,
    run_demo,
)

__all__ = [
    "DEMO_SOURCE",
    "DEMO_TABLES",
    "DemoResult",
    "DemoTable",
    "RoundResult",
    "TableCheck",
    "run_demo",
]

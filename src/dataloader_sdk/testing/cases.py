"""The strategy configurations the conformance suite runs, with their reference models."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from dataloader_sdk.model import JSONValue
from dataloader_sdk.testing.reference import (
    AppendOnlyModel,
    CheckAndLoadModel,
    ChunkedBackfillModel,
    FullModel,
    IncrementalModel,
    ReferenceModel,
    RollingModel,
)

__all__ = ["CASES", "TODAY", "ConformanceCase", "case"]

#: The run date of every conformance load (the runner's clock is fixed to its noon UTC).
TODAY = date(2026, 11, 27)

ALL_OPERATIONS = ("insert", "update", "late_update", "late_insert", "delete", "null_cursor",
                  "soft_delete")

_STEADY: dict[str, JSONValue] = {
    "watermark_column": "cur", "primary_keys": ["id"], "null_cursor": "exclude",
}


@dataclass(frozen=True)
class ConformanceCase:
    """One strategy configuration and how to model it.

    ``model`` receives whether the source's change signature is exact.
    """

    id: str
    strategy: str
    options: dict[str, JSONValue]
    model: Callable[[bool], ReferenceModel]
    #: Source operations that make sense for the strategy.
    operations: frozenset[str] = field(default_factory=lambda: frozenset(ALL_OPERATIONS))



CASES: tuple[ConformanceCase, ...] = (
    ConformanceCase("full", "full", {}, lambda exact: FullModel()),
    ConformanceCase(
        "incremental", "incremental", {**_STEADY, "lookback": 2},
        lambda exact: IncrementalModel(lookback=2),
    ),
    ConformanceCase(
        "incremental_hard_delete", "incremental",
        {**_STEADY, "delete_column": "gone", "delete_mode": "delete"},
        lambda exact: IncrementalModel(delete_mode="delete"),
    ),
    ConformanceCase(
        "incremental_flag_delete", "incremental",
        {**_STEADY, "delete_column": "gone", "delete_mode": "flag"},
        lambda exact: IncrementalModel(delete_mode="flag"),
    ),
    ConformanceCase(
        "append_only", "append_only", {"watermark_column": "cur", "null_cursor": "exclude"},
        lambda exact: AppendOnlyModel(),
    ),
    ConformanceCase(
        "rolling", "rolling", {"window_column": "day", "window": "7d"},
        lambda exact: RollingModel(TODAY, 7),
    ),
    ConformanceCase(
        "check_and_load", "check_and_load", {"watermark_column": "cur"},
        CheckAndLoadModel,
    ),
    ConformanceCase(
        "chunked_backfill", "chunked_backfill",
        {"chunk_column": "id", "chunk_size": 4, "primary_keys": ["id"], "max_chunks_per_run": 2,
         "then": "incremental", "then_options": dict(_STEADY)},
        lambda exact: ChunkedBackfillModel(size=4, per_run=2),
    ),
)


def case(case_id: str) -> ConformanceCase:
    """The case called ``case_id``."""
    for candidate in CASES:
        if candidate.id == case_id:
            return candidate
    raise KeyError(case_id)

"""Progress of table runs: what :class:`~dataloader_sdk.runner.TableRunner` reports to a
``progress=`` callback (progress bars, orchestrator logs)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = ["Phase", "ProgressCallback", "ProgressUpdate", "no_progress"]

Phase = Literal[
    "claimed", "planned", "reading", "committed", "finished", "failed", "cancelled"
]


@dataclass(frozen=True)
class ProgressUpdate:
    """Progress of one table run, for progress bars and orchestrator logs.

    Attributes:
        table: the table's name.
        phase: what the run is doing; ``reading`` updates come once per batch read.
        rows: rows read so far by the run (``reading``), or written (the other phases).
        total_rows: the source's row count when a probe measured it (else ``None``).
    """

    table: str
    phase: Phase
    rows: int = 0
    total_rows: int | None = None


ProgressCallback = Callable[[ProgressUpdate], None]


def no_progress(update: ProgressUpdate) -> None:
    """The callback of a run nobody watches."""
    return

"""Lifecycle events delivered to plugins through ``dataloader_on_event``."""

from __future__ import annotations

from dataclasses import dataclass

from dataloader_sdk.model import RunRecord

__all__ = ["LoadCancelled", "LoadEvent", "LoadFailed", "LoadFinished", "LoadStarted",
           "StepCommitted"]


@dataclass(frozen=True)
class LoadStarted:
    """A table run has claimed its table and is about to plan."""

    run_id: str
    table: str
    strategy: str


@dataclass(frozen=True)
class StepCommitted:
    """One step's Delta commit succeeded and the control state advanced."""

    run_id: str
    table: str
    txn_version: int
    rows_written: int
    replayed: bool


@dataclass(frozen=True)
class LoadFinished:
    """A run ended as succeeded or skipped."""

    record: RunRecord


@dataclass(frozen=True)
class LoadFailed:
    """A run failed; ``record.error_class`` / ``error_message`` say why (secrets redacted)."""

    record: RunRecord


@dataclass(frozen=True)
class LoadCancelled:
    """A run was cancelled by the user (Ctrl-C, SIGTERM, a notebook interrupt) before its
    commit; ``record.status`` is ``cancelled``."""

    record: RunRecord


LoadEvent = LoadStarted | StepCommitted | LoadFinished | LoadFailed | LoadCancelled

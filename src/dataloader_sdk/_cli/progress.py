"""Live per-table progress for ``dataloader run`` and the demo.

The loader calls the progress callback from its worker threads with
``ProgressUpdate(table, phase, rows, total_rows)``. On a terminal each table gets a rich
progress row (phase, rows so far, a bar when the total is known); anywhere else (CI logs,
pipes, tests) each phase change becomes one plain line, and the frequent ``reading`` updates
are dropped so logs stay short.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from dataloader_sdk.runner import ProgressUpdate

__all__ = ["ProgressReporter", "progress_reporter"]


_QUIET_PHASES = frozenset({"reading"})


class ProgressReporter:
    """A thread-safe progress callback; pass the instance as ``progress=``."""

    def __init__(self, console: Console, progress: Progress | None) -> None:
        self._console = console
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}
        self._last_phase: dict[str, str] = {}
        self._lock = threading.Lock()

    def __call__(self, update: ProgressUpdate) -> None:
        """Record one update (called from the loader's worker threads)."""
        with self._lock:
            if self._progress is None:
                self._plain(update)
            else:
                self._live(self._progress, update)

    def _plain(self, update: ProgressUpdate) -> None:
        if update.phase in _QUIET_PHASES or self._last_phase.get(update.table) == update.phase:
            return
        self._last_phase[update.table] = update.phase
        rows = f" ({update.rows:,} rows)" if update.rows else ""
        self._console.print(f"{update.table}: {update.phase}{rows}")

    def _live(self, progress: Progress, update: ProgressUpdate) -> None:
        task = self._tasks.get(update.table)
        if task is None:
            task = progress.add_task(update.table, total=update.total_rows, phase=update.phase)
            self._tasks[update.table] = task
        total = update.total_rows
        if total is None and update.phase in ("finished", "failed"):
            total = update.rows  # fills the bar when the total was never known
        progress.update(task, completed=update.rows, total=total, phase=update.phase)


@contextmanager
def progress_reporter(console: Console) -> Iterator[ProgressReporter]:
    """A reporter that draws live rows on a terminal and prints plain lines elsewhere."""
    if not console.is_terminal:
        yield ProgressReporter(console, None)
        return
    from rich.progress import (
        BarColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", style="bold"),
        TextColumn("{task.fields[phase]:<9}"),
        BarColumn(),
        TextColumn("{task.completed:>12,.0f} rows"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    with progress:
        yield ProgressReporter(console, progress)

"""Terminal display of table runs, shared by the CLI and the demo: short texts for
times, watermarks, row counts and durations, and live per-table progress.

Progress: the loader calls the progress callback from its worker threads with
``ProgressUpdate(table, phase, rows, total_rows)``; while a table is read it does so once
per batch, with the rows read so far. On a terminal each table gets a rich progress row:
phase, a bar (a pulsing one while the total is unknown, else against the probe's row
count), rows so far and rows per second. Anywhere else (CI logs, pipes, tests) each phase
change becomes one plain line, and while a table is read a line with the rows so far and
the rate is printed every :data:`PLAIN_INTERVAL` seconds (``DATALOADER_PROGRESS_SECONDS``
overrides it), so a long load shows it is alive without flooding the log.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from dataloader_sdk.model import Watermark
    from dataloader_sdk.progress import ProgressUpdate

__all__ = [
    "PLAIN_INTERVAL",
    "ProgressReporter",
    "fmt_duration",
    "fmt_interval",
    "fmt_rows",
    "fmt_time",
    "fmt_watermark",
    "progress_reporter",
]

_DASH = "-"


def fmt_time(value: datetime | None) -> str:
    """A timestamp to the second, in its own zone (the store keeps UTC)."""
    if value is None:
        return _DASH
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    offset = value.utcoffset()
    if offset is not None:
        text += "Z" if not offset else value.strftime("%z")
    return text


def fmt_watermark(value: Watermark | None) -> str:
    """The watermark at full precision (it is what the next run compares against)."""
    if value is None:
        return _DASH
    if isinstance(value.value, datetime):
        return value.value.isoformat(sep=" ")  # same look as the other timestamps shown
    return str(value)


def fmt_rows(value: int | None) -> str:
    """A row count with thousands separators."""
    return _DASH if value is None else f"{value:,}"


def fmt_duration(seconds: float | None) -> str:
    """Seconds as ``0.84s`` / ``2m 05s``."""
    if seconds is None:
        return _DASH
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m {secs:02d}s"


def fmt_interval(seconds: int | None) -> str:
    """A schedule interval in the largest exact unit: ``15m``, ``2h``, ``1d``, ``90s``."""
    if not seconds:
        return _DASH
    for unit, size in (("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"

#: Seconds between two plain "reading" lines of one table.
PLAIN_INTERVAL = 5.0


def _plain_interval() -> float:
    text = os.environ.get("DATALOADER_PROGRESS_SECONDS", "")
    try:
        value = float(text) if text else PLAIN_INTERVAL
    except ValueError:
        return PLAIN_INTERVAL
    return value if value >= 0 else PLAIN_INTERVAL


@dataclass
class _Reading:
    """Where one table's read stands: when it started, rows so far, last line printed."""

    started: float
    rows: int = 0
    printed: float = 0.0

    def rate(self, now: float) -> float:
        elapsed = now - self.started
        return self.rows / elapsed if elapsed > 0 else 0.0


def _fmt_rate(rate: float) -> str:
    return f"{rate:,.0f} rows/s"


class ProgressReporter:
    """A thread-safe progress callback; pass the instance as ``progress=``."""

    def __init__(
        self,
        console: Console,
        progress: Progress | None,
        *,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._console = console
        self._progress = progress
        self._interval = _plain_interval() if interval is None else interval
        self._clock = clock
        self._tasks: dict[str, TaskID] = {}
        self._last_phase: dict[str, str] = {}
        self._reading: dict[str, _Reading] = {}
        self._lock = threading.Lock()

    def __call__(self, update: ProgressUpdate) -> None:
        """Record one update (called from the loader's worker threads)."""
        with self._lock:
            now = self._clock()
            reading = self._track(update, now)
            if self._progress is None:
                self._plain(update, reading, now)
            else:
                self._live(self._progress, update, reading, now)

    def _track(self, update: ProgressUpdate, now: float) -> _Reading | None:
        if update.phase != "reading":
            return self._reading.get(update.table)
        reading = self._reading.get(update.table)
        if reading is None:
            reading = self._reading[update.table] = _Reading(started=now, printed=now)
        reading.rows = update.rows
        return reading

    def _plain(self, update: ProgressUpdate, reading: _Reading | None, now: float) -> None:
        if update.phase == "reading":
            if reading is None or now - reading.printed < self._interval or not update.rows:
                return
            reading.printed = now
            total = f" of ~{update.total_rows:,}" if update.total_rows else ""
            self._console.print(f"{update.table}: reading {update.rows:,}{total} rows "
                                f"({_fmt_rate(reading.rate(now))})", highlight=False)
            return
        if self._last_phase.get(update.table) == update.phase:
            return
        self._last_phase[update.table] = update.phase
        rows = f" ({update.rows:,} rows)" if update.rows else ""
        if update.phase in ("committed", "finished") and reading is not None and reading.rows:
            rows = f" ({update.rows:,} rows; read {reading.rows:,} at " \
                   f"{_fmt_rate(reading.rate(now))})"
        self._console.print(f"{update.table}: {update.phase}{rows}", highlight=False)

    def _live(self, progress: Progress, update: ProgressUpdate, reading: _Reading | None,
              now: float) -> None:
        task = self._tasks.get(update.table)
        if task is None:
            task = progress.add_task(update.table, total=update.total_rows, phase=update.phase,
                                     rate="")
            self._tasks[update.table] = task
        total = update.total_rows
        if total is None and update.phase in ("finished", "failed", "cancelled"):
            total = max(update.rows, 1)  # fills the bar when the total was never known
        rate = _fmt_rate(reading.rate(now)) if reading is not None and reading.rows else ""
        completed = update.rows
        if update.phase in ("finished", "failed", "cancelled") and total is not None:
            completed = total if update.phase == "finished" else completed
        progress.update(task, completed=completed, total=total, phase=update.phase,
                        rate=rate)


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
        BarColumn(),  # pulses while the total is unknown
        TextColumn("{task.completed:>12,.0f} rows"),
        TextColumn("{task.fields[rate]:>16}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    with progress:
        yield ProgressReporter(console, progress)

"""Cancelling a load: a token checked between batches, and signal handlers that set it.

Why not let Ctrl-C raise :class:`KeyboardInterrupt`? While a table is written, the
source's batches are pulled by delta-rs through the Arrow C stream interface, from
threads Python does not own. A ``KeyboardInterrupt`` raised there was lost or swallowed
(the load went on and committed), and a second one crashed the interpreter
(``Fatal Python error: PyGILState_Release``). So a run is cancelled cooperatively
instead: a signal handler only sets a :class:`CancelToken`; the runner checks it before
each step and between the read's batches, and raises :class:`LoadCancelledError` from the
read stream. The engine then aborts the write without committing, and the runner
records the run as ``cancelled`` and releases the lease (docs/reliability.md).

:func:`cancel_on_signals` installs the handlers for SIGINT and SIGTERM for the duration
of a load: the first signal cancels; a second one runs ``on_second`` (the CLI releases
the leases it holds, best effort, and exits with 130 at once).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING

from dataloader_sdk.errors import DataLoaderError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "EXIT_CANCELLED",
    "CancelToken",
    "LoadCancelledError",
    "cancel_on_signals",
    "cancellable",
    "interruptible",
]

#: The exit code of a process stopped by SIGINT (128 + 2), as shells report it.
EXIT_CANCELLED = 130


class LoadCancelledError(DataLoaderError):
    """The run was cancelled by the user (Ctrl-C, SIGTERM) before its commit.

    Nothing of the cancelled step was committed; steps committed before it stay (the
    control state says so). Not retryable: the user asked it to stop.
    """


class CancelToken:
    """A thread-safe "stop at the next batch" flag shared by the runs of one load."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._event.is_set()

    def cancel(self, reason: str = "cancelled") -> None:
        """Ask every run using this token to stop at its next batch."""
        if not self._event.is_set():
            self.reason = reason
            self._event.set()

    def check(self, table: str) -> None:
        """Raise :class:`LoadCancelledError` for ``table`` if the token was cancelled."""
        if self._event.is_set():
            raise LoadCancelledError(
                f"table {table!r}: cancelled ({self.reason}) before its commit; nothing "
                "of the running step was committed and the table's lease was released. "
                "Run it again to load it"
            )


def cancellable(
    reader: pa.RecordBatchReader,
    token: CancelToken,
    *,
    table: str,
    on_batch: Callable[[int], None] | None = None,
) -> pa.RecordBatchReader:
    """``reader`` with ``token`` checked before each batch; ``on_batch(rows_so_far)``.

    The check raises :class:`LoadCancelledError` from inside the stream, so whoever pulls it
    (delta-rs, in its own thread) sees the stream fail and commits nothing.
    """
    import pyarrow as pa

    source: pa.RecordBatchReader | None = reader

    def batches() -> Iterator[pa.RecordBatch]:
        nonlocal source
        rows = 0
        try:
            token.check(table)
            for batch in source or ():
                token.check(table)
                rows += batch.num_rows
                if on_batch is not None:
                    on_batch(rows)
                yield batch
            token.check(table)
        finally:
            # Stopped mid-read: drop the source's stream now, so the connector's generator
            # is closed here, in this thread. The raised error's traceback would keep it
            # alive until the garbage collector closed it in any thread, where a driver
            # such as sqlite3 refuses to touch its connection (and logs a traceback).
            source = None

    return pa.RecordBatchReader.from_batches(reader.schema, batches())


_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def cancel_on_signals(
    token: CancelToken,
    *,
    announce: Callable[[str], None] | None = None,
    on_second: Callable[[], None] | None = None,
    signals: tuple[signal.Signals, ...] = _SIGNALS,
) -> Iterator[CancelToken]:
    """Within the block, SIGINT/SIGTERM cancel ``token`` instead of raising.

    The first signal cancels the token and calls ``announce(signal_name)``; a later one
    calls ``on_second()`` (which should end the process). Outside the main thread
    (where Python cannot install handlers) nothing is installed; the previous handlers
    are restored on leaving.
    """
    if threading.current_thread() is not threading.main_thread():
        yield token
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if not token.cancelled:
            token.cancel(f"{name} received")
            if announce is not None:
                announce(name)
        elif on_second is not None:
            on_second()

    previous = {sig: signal.getsignal(sig) for sig in signals}
    for sig in signals:
        signal.signal(sig, handler)
    try:
        yield token
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextmanager
def interruptible(cancel: CancelToken | None) -> Iterator[CancelToken]:
    """The caller's token; or a new one that Ctrl-C cancels while the block runs.

    What :class:`~dataloader_sdk.loader.DataLoader` uses: only SIGINT, a notebook's
    interrupt or Ctrl-C in a script (the CLI installs its own handlers for SIGINT and
    SIGTERM and passes its token). Outside the main thread no handler can be installed
    and the token is cancelled only by its owner.
    """
    if cancel is not None:
        yield cancel
        return
    with cancel_on_signals(CancelToken(), signals=(signal.SIGINT,)) as token:
        yield token

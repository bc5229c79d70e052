"""Ctrl-C and SIGTERM during ``dataloader run``.

The first SIGINT or SIGTERM cancels the load: every run stops at its next batch,
commits nothing of its running step, is recorded as ``cancelled`` and releases its
lease; the command then exits with 130. A second signal exits at once (130): the runs
still in progress are recorded as cancelled and their leases released, best effort and
for at most :data:`ABORT_SECONDS`; a lease that could not be released belongs to a
process that no longer exists, which the next claim on this host takes over by itself.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from dataloader_sdk.cancel import EXIT_CANCELLED, CancelToken, cancel_on_signals

if TYPE_CHECKING:
    from dataloader_sdk.loader import DataLoader

__all__ = ["ABORT_SECONDS", "cancellable_load"]

#: How long a second Ctrl-C waits for the leases to be released before exiting.
ABORT_SECONDS = 3.0


def _announce(name: str) -> None:
    click.echo(
        f"{name}: cancelling; each table stops at its next batch and commits nothing. "
        "Press Ctrl-C again to exit at once.", err=True,
    )


def _exit_now(loader: DataLoader) -> None:
    from dataloader_sdk.engines.delta_rs.orphans import remove_inflight

    click.echo("Second interrupt: exiting now.", err=True)
    releasing = threading.Thread(
        target=loader.abort_active, args=("second interrupt",), daemon=True,
        name="dataloader-abort",
    )
    releasing.start()
    releasing.join(ABORT_SECONDS)
    remove_inflight()
    sys.stdout.flush()
    sys.stderr.flush()
    # os._exit: no interpreter shutdown while native writer threads still run (raising
    # or sys.exit here crashed with "PyGILState_Release").
    os._exit(EXIT_CANCELLED)


@contextmanager
def cancellable_load(loader: DataLoader) -> Iterator[CancelToken]:
    """A cancel token for the loads in the block, set by SIGINT/SIGTERM (see above)."""
    with cancel_on_signals(CancelToken(), announce=_announce,
                           on_second=lambda: _exit_now(loader)) as token:
        yield token

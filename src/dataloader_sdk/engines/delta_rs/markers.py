"""Markers of a maintenance pass in flight, so a failed load never deletes its files.

Maintenance takes no lease (``maintenance.py``): a ``dataloader maintain`` in one process
may compact a table while a load of the same table runs in another. When that load fails,
the cleanup of its aborted write (``orphans.py``) removes the unreferenced files that
appeared during it, and a compaction's files are unreferenced until its commit. They can
look like the load's own: a Merge reads its rows before delta-rs starts, so the cleanup
cannot tell whether delta-rs wrote any file. Deleting them would let the compaction
commit a snapshot that names files no longer on disk.

So a maintenance pass on a local table creates a marker file in
``<table>/_dataloader_maintenance/`` before it writes anything and removes it after its
last commit, and the cleanup deletes nothing while a live marker exists. It is checked
after the directory is listed and before the log is read: a compaction whose files were
listed either still has its marker, or has finished, and then its commit is in the log
the cleanup reads next.

A marker is live while its file was touched within :data:`STALE_AFTER_S` seconds; a
thread touches it every :data:`HEARTBEAT_S` seconds while the pass runs, so a marker
left by a killed process stops blocking the cleanup within minutes (``VACUUM`` removes
the orphans the cleanup leaves meanwhile). Marker times are compared with this host's
clock: on a shared mount, a host whose clock runs more than that ahead of the file
server's would take a live marker for a stale one. Delta readers and ``VACUUM`` ignore
directories whose names start with ``_``. Object stores get no marker: their orphans are
never removed by the cleanup.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dataloader_sdk.errors import DestinationError

__all__ = ["HEARTBEAT_S", "MARKER_DIR", "STALE_AFTER_S", "maintenance_in_flight",
           "maintenance_running"]

log = logging.getLogger(__name__)

#: The directory of the markers, inside the table's directory.
MARKER_DIR = "_dataloader_maintenance"
#: How often a running pass touches its marker.
HEARTBEAT_S = 30.0
#: After how long without a touch a marker counts as left behind by a dead process.
STALE_AFTER_S = 600.0


def maintenance_running(root: Path, *, now: float | None = None) -> bool:
    """Whether a maintenance pass on the table at ``root`` is in flight (a live marker).

    A marker that cannot be read counts as live: when in doubt, nothing is deleted.
    """
    folder = root / MARKER_DIR
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return False
    except OSError as exc:
        log.warning("table at %s: cannot list %s (%s); taken as maintenance in flight",
                    root, MARKER_DIR, exc)
        return True
    clock = time.time() if now is None else now
    for entry in entries:
        try:
            if clock - entry.stat().st_mtime < STALE_AFTER_S:
                return True
        except FileNotFoundError:
            continue  # the pass finished meanwhile
        except OSError:
            return True
    return False


@contextmanager
def maintenance_in_flight(root: Path | None) -> Iterator[None]:
    """Keep a live marker for a maintenance pass on the table at ``root`` (``None``: an
    object store, no marker) while the block runs.

    Raises:
        DestinationError: the marker cannot be created (nothing was changed).
    """
    if root is None or not root.is_dir():  # no table yet: no file to protect
        yield
        return
    folder = root / MARKER_DIR
    marker = folder / f"{os.getpid()}-{uuid.uuid4().hex}"
    try:
        folder.mkdir(exist_ok=True)
        marker.touch()
    except OSError as exc:
        # Without its marker the pass is not safe beside a failing load: do not start it.
        raise DestinationError(
            f"table at {root}: cannot create the maintenance marker {marker} ({exc}); "
            "nothing was changed. Check the table directory is writable.") from exc
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(HEARTBEAT_S):
            try:
                marker.touch()
            except OSError as exc:  # the pass goes on; the marker may go stale
                log.warning("table at %s: cannot refresh %s (%s)", root, marker.name, exc)

    beat = threading.Thread(target=heartbeat, name="dataloader-maintenance-marker",
                            daemon=True)
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join()
        marker.unlink(missing_ok=True)

"""Removing the Parquet files of a delta-rs write that failed before its commit.

delta-rs writes a step's data files first and commits them in the Delta log last. When
the write fails in between (disk full, a commit conflict, a schema refused at the end),
the files it already wrote stay in the table's directory, used by no version. The same
holds when the rows fail or are cancelled while delta-rs pulls them (writes stream), and
when a second Ctrl-C ends the process at once: :func:`remove_inflight` cleans up the
writes still in flight before that exit.

Which files are ours to delete, and why it is safe:

1. Only files that appeared in the table's directory *during* this write: the engine
   lists the data files right before the write and again right after it failed.
2. Only files that no version of the table references: the table is reloaded after the
   failure and every file of its current snapshot is kept (a commit that another writer
   made meanwhile references its files).
3. Only the files of *one* write. delta-rs names every file of a write
   ``part-NNNNN-<write id>-c000[.codec].parquet`` with one id per write. If the new,
   unreferenced files carry exactly one write id, and that id appears in no file the
   table references, they are the files of this aborted write. If they carry several
   ids, another writer is writing the table at the same moment (in-flight files are
   unreferenced too): nothing is deleted, and ``VACUUM`` removes the orphans later.

A dataloader table has one writer at a time (the control DB's lease, and the engine's
per-table lock in the process); rule 3 protects the files of writers outside the SDK.
Only local directories are cleaned (object-store URIs are left to ``VACUUM``).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["data_files", "inflight", "remove_inflight", "remove_orphans"]

log = logging.getLogger(__name__)

_PART = re.compile(r"^part-\d+-(?P<write>[0-9a-fA-F-]{36})-c\d+(?:\.[a-z0-9]+)?\.parquet$")


def _local_dir(uri: str) -> Path | None:
    if uri.startswith("file://"):
        uri = uri.removeprefix("file://")
    if "://" in uri:
        return None
    return Path(uri)


def data_files(uri: str) -> set[str] | None:
    """The relative paths of the Parquet files under a local table directory.

    ``None`` when the table is not a local directory (nothing will be cleaned).
    """
    root = _local_dir(uri)
    if root is None:
        return None
    if not root.is_dir():
        return set()
    found: set[str] = set()
    top = str(root)
    for folder, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if not d.startswith("_")]  # _delta_log, _change_data
        # os.walk's folders start with ``top``: cutting it off is the relative path, at a
        # fraction of os.path.relpath's cost (it runs before every write, over every file
        # on disk, which grows until a vacuum: 1,000 files cost ~8 ms with relpath).
        prefix = folder[len(top):].lstrip(os.sep)
        found.update(os.path.join(prefix, name) if prefix else name
                     for name in files if name.endswith(".parquet"))
    return found


def remove_orphans(uri: str, before: set[str] | None, referenced: set[str]) -> int:
    """Delete the files one aborted write left under ``uri`` (see the module docstring).

    Args:
        uri: the table's location.
        before: :func:`data_files` taken right before the write.
        referenced: the relative paths the table's current snapshot uses (empty if the
            table does not exist).

    Returns:
        How many files were removed.
    """
    root = _local_dir(uri)
    after = data_files(uri)
    if root is None or before is None or after is None:
        return 0
    new = after - before - referenced
    if not new:
        return 0
    writes: dict[str, list[str]] = {}
    for path in new:
        match = _PART.match(os.path.basename(path))
        if match is None:
            log.warning("table at %s: unexpected file %s after a failed write; left in place",
                        uri, path)
            return 0
        writes.setdefault(match["write"].lower(), []).append(path)
    committed = {m["write"].lower() for p in referenced
                 if (m := _PART.match(os.path.basename(p))) is not None}
    if len(writes) != 1 or set(writes) & committed:
        log.warning("table at %s: files of %d concurrent writes appeared during a failed "
                    "write; none removed (VACUUM removes the unreferenced ones)", uri,
                    len(writes))
        return 0
    removed = 0
    for path in next(iter(writes.values())):
        try:
            (root / path).unlink()
            removed += 1
        except FileNotFoundError:
            continue
    log.info("table at %s: removed %d file(s) of the aborted write", uri, removed)
    return removed


# Cleanups of the writes in flight, so a process about to ``os._exit`` (a second Ctrl-C)
# can remove what they wrote: os._exit runs no ``except`` or ``finally`` block.
_inflight: dict[int, Callable[[], None]] = {}
_inflight_lock = threading.Lock()


@contextmanager
def inflight(cleanup: Callable[[], None]) -> Iterator[None]:
    """Register ``cleanup`` (remove this write's orphans) while the block runs."""
    key = id(cleanup)
    with _inflight_lock:
        _inflight[key] = cleanup
    try:
        yield
    finally:
        with _inflight_lock:
            _inflight.pop(key, None)


def remove_inflight() -> int:
    """Run the cleanup of every write still in flight; returns how many ran."""
    with _inflight_lock:
        cleanups = list(_inflight.values())
        _inflight.clear()
    for cleanup in cleanups:
        try:
            cleanup()
        except Exception as exc:  # exiting anyway: report, never raise
            log.warning("could not clean up an interrupted write: %s", exc)
    return len(cleanups)

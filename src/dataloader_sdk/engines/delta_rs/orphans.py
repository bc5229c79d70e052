"""Removing the Parquet files of a delta-rs write that failed before its commit.

delta-rs writes a step's data files first and commits them in the Delta log last. When
the write fails in between (disk full, a commit conflict, a schema refused at the end),
the files it already wrote stay in the table's directory, used by no version. The same
holds when the rows fail or are cancelled while delta-rs pulls them (writes stream), and
when a second Ctrl-C ends the process at once: :func:`remove_inflight` cleans up the
writes still in flight before that exit.

Which files are ours to delete, and why it is safe:

1. Only files that appeared in the table's directory *during* this write. Before the
   write the engine reads the clock (:class:`WriteStart`), nothing more; only after a
   failure does it list the directory, and a file counts as new when its modification
   time is at or after that reading, less :data:`MTIME_SLACK_NS` (the kernel stamps
   files from a coarse clock, up to a tick behind the one Python reads). A file with an
   older time is never deleted, nor is any file of a write that has one: that write began
   before ours. (Until session 9 the engine listed every data file before each write
   instead, which grew with the files on disk until a vacuum: +2.7 ms per write at
   1,035 files.)
2. Only files that no version of the table references: every file of the current
   snapshot is kept (the table is reloaded after the directory is listed, so a commit
   another writer made meanwhile counts), and so is every file of a write named by a
   commit made since the window began (an ``add``, ``remove`` or ``cdc`` action of a
   ``_delta_log/`` JSON file written since then), such as the file of the previous load
   that a compaction has just replaced.
3. Only the files of *one* write. delta-rs names every file of a write
   ``part-NNNNN-<write id>-c000[.codec].parquet`` with one id per write. If the new,
   unreferenced files carry exactly one write id, they are the files of this aborted
   write. If they carry several, another writer is writing the table at the same moment
   (in-flight files are unreferenced too): nothing is deleted, and ``VACUUM`` removes
   the orphans later.
4. Nothing when delta-rs took no row from the write's stream (``pulled=False``): such a
   write wrote no data file, so one write id among the new files is another writer's,
   in flight (say a ``dataloader maintain`` compaction in another process, which takes
   no lease).
5. Nothing while a maintenance pass on the table is in flight (a live marker in
   ``_dataloader_maintenance/``, ``markers.py``): its compaction's files are
   unreferenced until it commits, and may be the only new ones.

When in doubt nothing is deleted; ``VACUUM`` removes unreferenced files once they are
older than its retention. A dataloader table has one loading writer at a time (the
control DB's lease, and the engine's per-table lock in the process); rules 1, 3, 4 and
5 protect the files of other writers, and rule 5 those of the SDK's own maintenance in
another process (until session 11, a Merge that failed beside such a compaction could
take the compaction's files for its own and delete them). What remains is a writer that
is not this SDK (another tool compacting or appending): a Merge, or a write that took
rows but failed before it closed a file, while that writer closed files during it (or in
the :data:`MTIME_SLACK_NS` before it) and is still in flight, takes those files for its
own. Coarse file
times (1-2 s on FAT or HFS+, a network mount's server clock behind this one) put an
aborted write's files before the window: they are left for ``VACUUM``. Only local
directories are cleaned (object-store URIs are left to ``VACUUM``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from dataloader_sdk.engines.delta_rs.markers import maintenance_running

__all__ = ["MTIME_SLACK_NS", "WriteStart", "inflight", "local_dir", "remove_inflight",
           "remove_orphans"]

log = logging.getLogger(__name__)

_PART = re.compile(r"^part-\d+-(?P<write>[0-9a-fA-F-]{36})-c\d+(?:\.[a-z0-9]+)?\.parquet$")

#: How far before :class:`WriteStart` a file's modification time may lie and still count
#: as written during the write. Linux stamps files from its coarse clock, up to one tick
#: (1-10 ms) behind ``time.time_ns()``; 100 ms leaves room and admits little else.
MTIME_SLACK_NS = 100_000_000


@dataclass(frozen=True)
class WriteStart:
    """When a write began (wall clock, ns), read right before it starts."""

    ns: int

    @classmethod
    def now(cls) -> WriteStart:
        """The clock now: what the cleanup after a failure compares file times with."""
        return cls(time.time_ns())


def local_dir(uri: str) -> Path | None:
    """The local directory of a table URI (``None``: an object store)."""
    if uri.startswith("file://"):
        uri = uri.removeprefix("file://")
    if "://" in uri:
        return None
    return Path(uri)


def _write_id(name: str) -> str | None:
    match = _PART.match(name)
    return match["write"].lower() if match is not None else None


def _data_files(root: Path) -> Iterator[tuple[str, int]]:
    """(relative path, modification time in ns) of every Parquet data file."""
    top = str(root)
    for folder, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if not d.startswith("_")]  # _delta_log, _change_data
        prefix = folder[len(top):].lstrip(os.sep)
        for name in files:
            if name.endswith(".parquet"):
                path = os.path.join(prefix, name) if prefix else name
                try:
                    yield path, os.stat(os.path.join(folder, name)).st_mtime_ns
                except FileNotFoundError:  # removed meanwhile (a vacuum)
                    continue


def _recently_committed(root: Path, since_ns: int) -> set[str] | None:
    """The write ids named by ``_delta_log/`` JSON files written since ``since_ns``.

    Commits in progress (delta-rs's temporary files) count too. ``None`` when one cannot
    be read: then nothing may be deleted.
    """
    ids: set[str] = set()
    try:
        entries = list(os.scandir(root / "_delta_log"))
    except FileNotFoundError:
        return ids
    for entry in entries:
        if ".json" not in entry.name:
            continue
        try:
            if entry.stat().st_mtime_ns < since_ns:
                continue
            lines = Path(entry.path).read_text(encoding="utf-8").splitlines()
            actions = [json.loads(line) for line in lines if line.strip()]
        except FileNotFoundError:
            continue  # a temporary commit file renamed meanwhile: its commit is listed
        except (OSError, ValueError) as exc:
            log.warning("table at %s: could not read %s (%s); no file removed",
                        root, entry.name, exc)
            return None
        for action in actions:
            for kind in ("add", "remove", "cdc"):
                body = action.get(kind) if isinstance(action, dict) else None
                if isinstance(body, dict) and isinstance(body.get("path"), str):
                    write = _write_id(os.path.basename(unquote(body["path"])))
                    if write is not None:
                        ids.add(write)
    return ids


def remove_orphans(uri: str, start: WriteStart, referenced: Callable[[], set[str]], *,
                   pulled: bool = True) -> int:
    """Delete the files one aborted write left under ``uri`` (see the module docstring).

    Args:
        uri: the table's location.
        start: read right before the write.
        referenced: the relative paths the table's current snapshot uses (empty if the
            table does not exist); called after the directory is listed.
        pulled: whether delta-rs took any row from the write's stream.

    Returns:
        How many files were removed.
    """
    root = local_dir(uri)
    if root is None or not pulled or not root.is_dir():
        return 0
    window = start.ns - MTIME_SLACK_NS
    new: dict[str, str | None] = {}  # path -> write id (None: not a delta-rs name)
    older: set[str] = set()  # write ids with a file from before the window
    for path, mtime in _data_files(root):
        write = _write_id(os.path.basename(path))
        if mtime >= window:
            new[path] = write
        elif write is not None:
            older.add(write)
    if not new:
        return 0
    # After the listing, before the log is read (markers.py says why in that order).
    if maintenance_running(root):
        log.warning("table at %s: a maintenance pass is in flight beside a failed write; "
                    "no file removed (VACUUM removes the unreferenced ones)", uri)
        return 0
    in_use = referenced()
    committed = _recently_committed(root, window)
    if committed is None:
        return 0
    committed |= {w for p in in_use if (w := _write_id(os.path.basename(p))) is not None}
    writes: dict[str, list[str]] = {}
    for path, write in new.items():
        if path in in_use or write in committed:
            continue
        if write is None:
            log.warning("table at %s: unexpected file %s after a failed write; none removed",
                        uri, path)
            return 0
        writes.setdefault(write, []).append(path)
    if not writes:
        return 0
    if len(writes) != 1 or set(writes) & older:
        # Several writes, or one that had files before this write began: another writer
        # is in flight, and its files are not ours to judge.
        log.warning("table at %s: files of another write in flight appeared beside a "
                    "failed write; none removed (VACUUM removes the unreferenced ones)", uri)
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

"""What the delta-rs engine keeps of a local table between runs, while its log stands still.

Every run starts by asking the engine for the target's newest dataloader commit (the
foreign-writer check and the roll-forward after a crash, ``_reconcile.py``). Answering
means opening the table (~1.5 ms for a small local table, most of an unchanged run's
engine time) and reading its last commits, although a table loaded every few minutes
usually has not moved since this process last looked.

So the answer is kept per table with the log version it was read at, and reused while
that version's log file is the same file (same size and modification time: a table
dropped and created again has new files) and no next version exists. Two ``stat`` calls
replace the table load. Only local tables qualify: on an object store the same checks
cost a request each, and the table is loaded as before. A commit by anyone (this
process, another worker, maintenance) writes the next log file, which ends the reuse.

:class:`WriteHandles` keeps the ``DeltaTable`` a write used, for the table's next write:
loading a table replays its log from the last checkpoint (with every tombstone Delta
keeps for a week), which grew from ~6 to ~16 ms over a few hundred runs of one table
(``bench_long_run``); bringing a kept handle up to date reads only the newer log entries.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar
from urllib.parse import urlsplit

from dataloader_sdk.model import CommitInfo

if TYPE_CHECKING:
    from deltalake import DeltaTable

__all__ = ["RecentCommits", "WriteHandles", "local_log"]

T = TypeVar("T")

#: Tables remembered at most (least recently asked first out): an entry is a few hundred
#: bytes, so this bounds memory for a worker that serves thousands of tables.
MAX_TABLES = 4096


def local_log(uri: str) -> Path | None:
    """The ``_delta_log`` directory of a table on the local file system, else ``None``."""
    parts = urlsplit(uri)
    if parts.scheme == "file":
        return Path(parts.path) / "_delta_log"
    if parts.scheme == "" and os.path.isabs(uri):
        return Path(uri) / "_delta_log"
    return None


def _log_file(log: Path, version: int) -> Path:
    return log / f"{version:020d}.json"


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns


@dataclass(frozen=True)
class _Kept(Generic[T]):
    value: T
    version: int
    stamp: tuple[int, int]  # the version's log file: (size, mtime in ns)


class _PerTable(Generic[T]):
    """A value per local table, tied to one version of its log; the ``limit`` most
    recently kept. Thread-safe."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._kept: OrderedDict[str, _Kept[T]] = OrderedDict()

    def put(self, uri: str, version: int, value: T) -> None:
        """Keep ``value`` for the table at log ``version`` (not for a remote table)."""
        log = local_log(uri)
        stamp = _stamp(_log_file(log, version)) if log is not None else None
        if stamp is None:
            return  # not local, or no plain log file for it: never reused
        with self._lock:
            self._kept[uri] = _Kept(value, version, stamp)
            self._kept.move_to_end(uri)
            while len(self._kept) > self._limit:
                self._kept.popitem(last=False)

    def get(self, uri: str, *, take: bool, unmoved: bool) -> _Kept[T] | None:
        """What is kept while that version's log file is the same file (and, with
        ``unmoved``, no later version exists); ``take`` removes it."""
        log = local_log(uri)
        with self._lock:
            kept = self._kept.pop(uri, None) if take else self._kept.get(uri)
        if log is None or kept is None:
            return None
        if _stamp(_log_file(log, kept.version)) != kept.stamp or (
                unmoved and _log_file(log, kept.version + 1).exists()):
            self.forget(uri)
            return None
        if not take:
            with self._lock:
                if uri in self._kept:
                    self._kept.move_to_end(uri)
        return kept

    def forget(self, uri: str) -> None:
        with self._lock:
            self._kept.pop(uri, None)


class RecentCommits:
    """``newest_commit`` answers per local table, valid while its log has not moved."""

    def __init__(self, limit: int = MAX_TABLES) -> None:
        self._kept: _PerTable[CommitInfo | None] = _PerTable(limit)

    def lookup(self, uri: str) -> tuple[bool, CommitInfo | None]:
        """``(True, answer)`` when the table's log still ends at the kept version."""
        kept = self._kept.get(uri, take=False, unmoved=True)
        return (True, kept.value) if kept is not None else (False, None)

    def keep(self, uri: str, version: int, newest: CommitInfo | None) -> None:
        """Remember ``newest`` as the answer for the table at log ``version``."""
        self._kept.put(uri, version, newest)

    def forget(self, uri: str) -> None:
        """Drop what is kept for the table (it was dropped or replaced)."""
        self._kept.forget(uri)


#: Write handles kept at most: a handle holds the table's file list and tombstones
#: (a few MB for a table of thousands of files), so only the most recently written.
MAX_HANDLES = 32


class WriteHandles:
    """Each local table's ``DeltaTable`` from its last write, for its next write.

    Used under the table's in-process write lock (``engines/common/locks.py``), so a
    handle serves one write at a time: :meth:`take` removes it, :meth:`give` puts it
    back after a successful write (a failed write's handle is dropped).
    """

    def __init__(self, limit: int = MAX_HANDLES) -> None:
        self._kept: _PerTable[DeltaTable] = _PerTable(limit)

    def take(self, uri: str) -> DeltaTable | None:
        """The kept handle, brought up to date; ``None``: load the table afresh (none
        kept, the table was dropped or written anew since, or the update failed)."""
        kept = self._kept.get(uri, take=True, unmoved=False)
        if kept is None:
            return None
        log = local_log(uri)
        if log is not None and not _log_file(log, kept.version + 1).exists():
            # No commit since the handle's (one stat): nothing to update. An update
            # lists the whole _delta_log/ (every commit of the last 30 days), which grew
            # from ~2 to ~4 ms per call over 1,000 runs of one table (bench_long_run).
            return kept.value
        try:
            kept.value.update_incremental()  # reads only the newer log entries
        except Exception:  # any doubt: load the table afresh
            return None
        return kept.value

    def give(self, uri: str, table: DeltaTable) -> None:
        """Keep ``table`` (just written) for the table's next write."""
        self._kept.put(uri, table.version(), table)

    def forget(self, uri: str) -> None:
        """Drop the handle of a table that was dropped."""
        self._kept.forget(uri)

"""The newest dataloader commit of a local table, kept while its Delta log stands still.

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
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from dataloader_sdk.model import CommitInfo

__all__ = ["RecentCommits", "local_log"]

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


@dataclass(frozen=True)
class _Kept:
    version: int
    stamp: tuple[int, int]  # the version's log file: (size, mtime in ns)
    newest: CommitInfo | None


def _log_file(log: Path, version: int) -> Path:
    return log / f"{version:020d}.json"


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns


class RecentCommits:
    """``newest_commit`` answers per local table, valid while its log has not moved.
    Thread-safe."""

    def __init__(self, limit: int = MAX_TABLES) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._kept: OrderedDict[str, _Kept] = OrderedDict()

    def lookup(self, uri: str) -> tuple[bool, CommitInfo | None]:
        """``(True, answer)`` when the table's log still ends at the kept version."""
        log = local_log(uri)
        with self._lock:
            kept = self._kept.get(uri)
        if log is None or kept is None:
            return False, None
        if _stamp(_log_file(log, kept.version)) != kept.stamp \
                or _log_file(log, kept.version + 1).exists():
            with self._lock:
                self._kept.pop(uri, None)
            return False, None
        with self._lock:
            if uri in self._kept:
                self._kept.move_to_end(uri)
        return True, kept.newest

    def keep(self, uri: str, version: int, newest: CommitInfo | None) -> None:
        """Remember ``newest`` as the answer for the table at log ``version``."""
        log = local_log(uri)
        stamp = _stamp(_log_file(log, version)) if log is not None else None
        if stamp is None:
            return  # not local, or no plain log file for it: never reused
        with self._lock:
            self._kept[uri] = _Kept(version, stamp, newest)
            self._kept.move_to_end(uri)
            while len(self._kept) > self._limit:
                self._kept.popitem(last=False)

    def forget(self, uri: str) -> None:
        """Drop what is kept for the table (it was dropped or replaced)."""
        with self._lock:
            self._kept.pop(uri, None)

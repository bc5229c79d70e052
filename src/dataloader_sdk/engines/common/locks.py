"""Per-table locks shared by both Delta engines (one writer per table within a process).

Across processes the control DB's lease keeps one writer per table; within one process two
engine instances over the same root may serve the same table, so the locks are process-wide
and keyed by the table's URI or location.
"""

from __future__ import annotations

import threading

__all__ = ["table_lock"]

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def table_lock(key: str) -> threading.Lock:
    """The process-wide lock of one table (by URI or location), created on first use."""
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())

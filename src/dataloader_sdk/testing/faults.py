"""Crash injection at the step boundaries of a load.

:class:`FaultyEngine` wraps a real engine. Armed with a :data:`CrashPoint`, the next
write crashes there:

* ``mid_read``: the source stream breaks after its first batch, while the engine is
  consuming it (the commit must not happen);
* ``before_commit``: the process dies after reading, before the Delta commit;
* ``after_commit``: the Delta commit succeeds and the process dies before the control DB
  is updated (the next run must roll the control state forward from the commit).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Literal

import pyarrow as pa

from dataloader_sdk.engines.base import Engine, WriteOutcome
from dataloader_sdk.model import CommitInfo, Predicate, TargetName, WriteMode

__all__ = ["CRASH_POINTS", "CrashPoint", "FaultyEngine", "InjectedCrash"]

CrashPoint = Literal["mid_read", "before_commit", "after_commit"]
CRASH_POINTS: tuple[CrashPoint, ...] = ("mid_read", "before_commit", "after_commit")


class InjectedCrash(Exception):
    """The simulated death of the process."""


class FaultyEngine:
    """An engine that crashes once where it is told to; otherwise the wrapped engine."""

    def __init__(self, inner: Engine) -> None:
        self.inner = inner
        self.name = inner.name
        self._armed: CrashPoint | None = None
        self.writes = 0
        #: How many crashes were injected so far.
        self.crashes = 0

    def arm(self, point: CrashPoint | None) -> None:
        """Crash at ``point`` on the next write (``None`` disarms)."""
        self._armed = point

    def write(
        self, target: TargetName, data: pa.RecordBatchReader, mode: WriteMode, commit: CommitInfo
    ) -> WriteOutcome:
        """Write through the inner engine, crashing once where armed."""
        point, self._armed = self._armed, None
        if point == "before_commit":
            data.read_all()
            self.crashes += 1
            raise InjectedCrash("process died before the Delta commit")
        if point == "mid_read":
            self.crashes += 1
            data = pa.RecordBatchReader.from_batches(data.schema, _break_after_first(data))
        outcome = self.inner.write(target, data, mode, commit)
        self.writes += 1
        if point == "after_commit":
            self.crashes += 1
            raise InjectedCrash("process died after the Delta commit, before the control update")
        return outcome

    def last_commit(self, target: TargetName, app_id: str) -> CommitInfo | None:
        """Passed through."""
        return self.inner.last_commit(target, app_id)

    def newest_commit(self, target: TargetName) -> CommitInfo | None:
        """Passed through."""
        return self.inner.newest_commit(target)

    def recorded_version(self, target: TargetName, app_id: str) -> int | None:
        """Passed through."""
        return self.inner.recorded_version(target, app_id)

    def exists(self, target: TargetName) -> bool:
        """Passed through."""
        return self.inner.exists(target)

    def schema(self, target: TargetName) -> pa.Schema | None:
        """Passed through."""
        return self.inner.schema(target)

    def drop(self, target: TargetName) -> bool:
        """Passed through."""
        return self.inner.drop(target)

    def read(self, target: TargetName) -> pa.Table:
        """Passed through."""
        return self.inner.read(target)

    def count(self, target: TargetName, where: tuple[Predicate, ...] = ()) -> int:
        """Passed through."""
        return self.inner.count(target, where)

    def last_commit_time(self, target: TargetName) -> datetime | None:
        """Passed through."""
        return self.inner.last_commit_time(target)


def _break_after_first(reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    for batch in reader:
        yield batch
        break
    raise InjectedCrash("the source connection broke mid-read")

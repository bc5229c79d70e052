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

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, Literal

import pyarrow as pa

from dataloader_sdk.engines.base import (
    Engine,
    JdbcConnection,
    JdbcReader,
    LineageValues,
    StagedRead,
    WriteOutcome,
)
from dataloader_sdk.model import CommitInfo, Predicate, ScalarValue, TargetName, WriteMode

__all__ = ["CRASH_POINTS", "CrashPoint", "FaultyEngine", "FaultyJdbcEngine", "InjectedCrash"]

CrashPoint = Literal["mid_read", "before_commit", "after_commit"]
CRASH_POINTS: tuple[CrashPoint, ...] = ("mid_read", "before_commit", "after_commit")


class InjectedCrash(Exception):
    """The simulated death of the process."""


class FaultyEngine:
    """An engine that crashes once where it is told to; otherwise the wrapped engine.

    Wrapping an engine with the JDBC read capability gives a :class:`FaultyJdbcEngine`,
    which has it too and crashes its staged writes the same way.
    """

    def __new__(cls, inner: Engine, *args: Any, **kwargs: Any) -> Any:
        # Subclasses (a test's own faulty engine) may take more arguments; only the plain
        # FaultyEngine switches to the JDBC-capable variant.
        if cls is FaultyEngine and isinstance(inner, JdbcReader):
            return super().__new__(FaultyJdbcEngine)
        return super().__new__(cls)

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


class FaultyJdbcEngine(FaultyEngine):
    """A :class:`FaultyEngine` over an engine that reads over JDBC (``JdbcReader``)."""

    def jdbc_bounds(
        self, conn: JdbcConnection, bounds_table: str
    ) -> tuple[ScalarValue | None, ScalarValue | None]:
        """Passed through."""
        inner: Any = self.inner
        bounds: tuple[ScalarValue | None, ScalarValue | None] = inner.jdbc_bounds(
            conn, bounds_table)
        return bounds

    def read_jdbc(
        self, conn: JdbcConnection, window_table: str, predicates: Sequence[str]
    ) -> StagedRead:
        """Passed through."""
        inner: Any = self.inner
        staged: StagedRead = inner.read_jdbc(conn, window_table, predicates)
        return staged

    def write_staged(
        self, target: TargetName, staged: StagedRead, mode: WriteMode, commit: CommitInfo,
        lineage: LineageValues,
    ) -> WriteOutcome:
        """Write through the inner engine, crashing once where armed (``mid_read`` and
        ``before_commit`` die before the commit: the rows are read before the write)."""
        point, self._armed = self._armed, None
        if point in ("mid_read", "before_commit"):
            self.crashes += 1
            raise InjectedCrash(f"process died before the Delta commit ({point})")
        inner: Any = self.inner
        outcome: WriteOutcome = inner.write_staged(target, staged, mode, commit, lineage)
        self.writes += 1
        if point == "after_commit":
            self.crashes += 1
            raise InjectedCrash("process died after the Delta commit, before the control update")
        return outcome


def _break_after_first(reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    for batch in reader:
        yield batch
        break
    raise InjectedCrash("the source connection broke mid-read")

"""The template of :meth:`Engine.write` that both Delta engines share.

Every write runs under the table's in-process lock (``common/locks.py``) and starts with
the replay check of the engine contract (``engines/base.py``): a step whose
app-transaction version is already recorded for its app id writes nothing and reports
``replayed=True``. Only then does the engine's own write run. The check and its log line
were written once per engine before; here they are written once, and an engine states
only how it opens a table (:meth:`ReplaySafeWriter._table_at_write`) and how it writes a
new step (:meth:`ReplaySafeWriter._write_new`).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from dataloader_sdk.engines.base import ReadAgain, WriteOutcome, read_again_offered
from dataloader_sdk.engines.common.locks import table_lock
from dataloader_sdk.model import CommitInfo, TargetName, WriteMode

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["ReplaySafeWriter", "TableAtWrite", "WriteStep"]

log = logging.getLogger(__name__)

#: What an engine keeps of the table it opened for a write (delta-rs: its ``DeltaTable``).
TableT = TypeVar("TableT")


@dataclass(frozen=True)
class TableAtWrite(Generic[TableT]):
    """An existing target table as a write found it, under the table lock.

    Attributes:
        handle: what the engine opened (reused by its write; ``None`` if it keeps nothing).
        version: the table's current version.
        recorded: the app-transaction version recorded for the step's app id, if any.
    """

    handle: TableT
    version: int
    recorded: int | None

    def replays(self, commit: CommitInfo) -> bool:
        """Whether ``commit``'s step is already recorded here (a replay writes nothing)."""
        return self.recorded is not None and self.recorded >= commit.txn_version


@dataclass(frozen=True)
class WriteStep:
    """The arguments of one write, as :meth:`Engine.write` receives them (minus the rows)."""

    target: TargetName
    mode: WriteMode
    commit: CommitInfo
    #: How to read the step's rows again, when its caller offers it
    #: (``engines/base.offering_read_again``).
    read_again: ReadAgain | None = None


class ReplaySafeWriter(ABC, Generic[TableT]):
    """The lock, the replay check, then the engine's own write (see the module docstring)."""

    @abstractmethod
    def location(self, target: TargetName) -> str:
        """Where the table lives (the key of its in-process lock)."""

    @abstractmethod
    def _table_at_write(self, target: TargetName, app_id: str) -> TableAtWrite[TableT] | None:
        """The existing table and what it records for ``app_id`` (``None``: no table)."""

    @abstractmethod
    def _write_new(
        self, step: WriteStep, data: pa.RecordBatchReader, table: TableAtWrite[TableT] | None
    ) -> WriteOutcome:
        """Write a step that is not a replay in exactly one commit (lock held)."""

    def write(
        self, target: TargetName, data: pa.RecordBatchReader, mode: WriteMode, commit: CommitInfo
    ) -> WriteOutcome:
        """Write ``data`` to ``target`` in exactly one commit carrying ``commit``.

        Args:
            target: the Delta table.
            data: the step's rows; consumed at most once, not at all on a replay.
            mode: Overwrite, Append, Merge or ReplaceWhere.
            commit: metadata and app transaction of the commit.

        Returns:
            Rows written (inserted + updated for a Merge), whether it was a replay, and
            the table version after the write.

        Raises:
            DestinationError: the write was refused or failed; the table is unchanged.
                :class:`DestinationTransientError` when retrying can succeed (disk full,
                permission denied, a concurrent writer committed first).
            ConfigError: the write mode is malformed (e.g. ReplaceWhere without
                predicate), or the target's path would leave the root.
        """
        step = WriteStep(target, mode, commit, read_again_offered())
        return self._write_once(step, lambda table: self._write_new(step, data, table))

    def _write_once(
        self, step: WriteStep, write_new: Callable[[TableAtWrite[TableT] | None], WriteOutcome]
    ) -> WriteOutcome:
        """``write_new`` under the table lock, unless the step is a replay."""
        commit = step.commit
        with table_lock(self.location(step.target)):
            table = self._table_at_write(step.target, commit.app_id)
            if table is not None and table.replays(commit):
                log.info(
                    "table %s: step %d of %s already committed (recorded version %d); "
                    "replay writes nothing",
                    step.target, commit.txn_version, commit.app_id, table.recorded,
                )
                return WriteOutcome(0, replayed=True, delta_version=table.version)
            return write_new(table)

"""Write modes, load steps and plans, commit metadata and run records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, TypeAlias

from dataloader_sdk.model._base import RunStatus
from dataloader_sdk.model.select import CursorExpr, Predicate, Select
from dataloader_sdk.model.state import TableState, Watermark


@dataclass(frozen=True)
class Overwrite:
    """Replace the whole table atomically in one commit."""


@dataclass(frozen=True)
class Append:
    """Append rows; a replayed step (same app-transaction version) appends nothing."""


@dataclass(frozen=True)
class Merge:
    """Upsert on ``keys``; with ``sequence``, a source row never replaces a newer target row.

    Within one step the engine keeps only the row with the greatest ``sequence`` per key.
    """

    keys: tuple[str, ...]
    sequence: CursorExpr | None = None
    #: A boolean source column meaning "this row was deleted at the source".
    delete_column: str | None = None
    #: ``delete`` removes such rows from the target; ``flag`` keeps them with
    #: ``_dl_deleted = true`` (and ``false`` on every other row).
    delete_mode: Literal["delete", "flag"] = "delete"
    #: Replace whatever the target holds instead of merging into it: the first step of a
    #: table incarnation whose target already exists (after a reset, or a re-add). The
    #: rows are checked and deduplicated as a first load's are.
    replace_existing: bool = False


@dataclass(frozen=True)
class ReplaceWhere:
    """Replace exactly the rows matching ``predicate`` with the step's rows, in one commit."""

    predicate: tuple[Predicate, ...]


WriteMode: TypeAlias = Overwrite | Append | Merge | ReplaceWhere


@dataclass(frozen=True)
class EmptyReadGuard:
    """Refuse a step whose read is empty while the target holds more than ``max_target_rows``
    rows matching ``where`` (a source that is being reloaded must not empty a window)."""

    where: tuple[Predicate, ...]
    max_target_rows: int = 0


@dataclass(frozen=True)
class BoundaryRule:
    """How a step proves that a re-read of the rows at its watermark brings nothing new.

    A cursor read is inclusive (``cursor >= W - lookback``), so an unchanged source still
    returns the rows at (and the lookback below) the watermark. After a step commits, the
    runner keeps a digest of the rows of its read whose cursor lies in ``[max - lookback,
    max]`` (the window the next run reads if nothing changes). ``known`` is that digest
    from the state: a step whose read hashes to exactly ``known`` re-read only rows the
    last commit already merged, so the runner commits nothing. Any difference (a new row
    tied with the watermark, a changed or late row inside the lookback) loads as usual.

    A step that reads beyond the watermark sets ``merged_up_to`` (the last commit's
    watermark) and ``merged_digest`` (that commit's digest) instead: its rows at or below
    ``merged_up_to`` are left out of the merge when they hash to ``merged_digest``, so the
    merge does not rewrite the file holding them (see ``_boundary_skip.py``).
    """

    cursor: CursorExpr
    lookback: int | timedelta | None = None
    known: str | None = None
    merged_up_to: Watermark | None = None
    merged_digest: str | None = None


@dataclass(frozen=True)
class LoadStep:
    """One unit of work: read ``select``, write it with ``write``, then state is ``state_after``.

    ``txn_version`` is the step's Delta app-transaction version: a step whose version is
    already recorded on the target is a replay and writes nothing. ``loaded_at`` comes from
    the plan so a replayed step produces identical lineage values.
    """

    select: Select
    write: WriteMode
    state_after: TableState
    txn_version: int
    loaded_at: datetime
    label: str = ""
    guard: EmptyReadGuard | None = None
    #: Rows the probe proved to be in the window (at least the row holding the frozen
    #: upper bound). A read that returns fewer fails before the commit: the watermark
    #: never moves over rows that were not read.
    min_rows: int = 0
    #: The no-op rule of a merge over a cursor window (see :class:`BoundaryRule`).
    boundary: BoundaryRule | None = None


@dataclass(frozen=True)
class LoadPlan:
    """A strategy's decision for one run: the steps, or why there is nothing to do."""

    steps: tuple[LoadStep, ...]
    note: str = ""
    skipped: bool = False


@dataclass(frozen=True)
class CommitInfo:
    """What every dataloader Delta commit records, so the control DB can roll forward."""

    app_id: str
    txn_version: int
    run_id: str
    table_id: int
    table: str
    strategy: str
    state_after: TableState
    #: Rows the commit carries, when the engine knew them before the commit began
    #: (``None``: not written; Delta's ``operationMetrics`` count them).
    rows: int | None = None
    #: The environment and control database whose run wrote the commit (a commit of
    #: another one is never rolled forward from; see ``control/identity.py``).
    environment: str = ""
    control_id: str = ""

    def to_metadata(self) -> dict[str, str]:
        """Flat string metadata for the Delta commit (``dataloader.*`` keys)."""
        import json

        meta = {
            "dataloader.app_id": self.app_id,
            "dataloader.txn_version": str(self.txn_version),
            "dataloader.run_id": self.run_id,
            "dataloader.table_id": str(self.table_id),
            "dataloader.table": self.table,
            "dataloader.strategy": self.strategy,
            "dataloader.environment": self.environment,
            "dataloader.control_id": self.control_id,
            "dataloader.state_after": json.dumps(self.state_after.to_json(), sort_keys=True),
        }
        if self.rows is not None:
            meta["dataloader.rows"] = str(self.rows)
        return meta

    @classmethod
    def from_metadata(cls, meta: Mapping[str, object]) -> CommitInfo | None:
        """Inverse of :meth:`to_metadata`; ``None`` if the commit is not a dataloader one."""
        import json

        if "dataloader.app_id" not in meta:
            return None
        try:
            return cls(
                app_id=str(meta["dataloader.app_id"]),
                txn_version=int(str(meta["dataloader.txn_version"])),
                run_id=str(meta["dataloader.run_id"]),
                table_id=int(str(meta["dataloader.table_id"])),
                table=str(meta.get("dataloader.table", "")),
                strategy=str(meta.get("dataloader.strategy", "")),
                rows=int(str(meta["dataloader.rows"])) if "dataloader.rows" in meta else None,
                environment=str(meta.get("dataloader.environment", "")),
                control_id=str(meta.get("dataloader.control_id", "")),
                state_after=TableState.from_json(json.loads(str(meta["dataloader.state_after"]))),
            )
        except (KeyError, ValueError, TypeError):
            return None


@dataclass(frozen=True)
class RunRecord:
    """One ``historical_metadata`` row: the outcome of one table run."""

    run_id: str
    table_id: int
    table: str
    strategy: str
    engine: str
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None = None
    rows_read: int = 0
    rows_written: int = 0
    watermark_before: Watermark | None = None
    watermark_after: Watermark | None = None
    steps_committed: int = 0
    note: str = ""
    error_class: str | None = None
    error_message: str | None = None
    orchestrator_run_id: str | None = None
    #: The Delta table version after the run's last commit (``None``: nothing committed).
    delta_version: int | None = None

    @property
    def duration_seconds(self) -> float | None:
        """Wall time of the run, once finished."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

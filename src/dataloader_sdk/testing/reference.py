"""Reference models: what each strategy must leave in the target, computed on plain lists.

A model sees the same source snapshots as the real load, and the number of steps the load
committed (``None``: all of them; a crash before the first commit: 0; a crash right after
the first commit: 1). It is deliberately a second, naive implementation of the semantics
in docs/load-strategies.md, so that a bug in a strategy, connector or engine shows up as
a difference.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, Literal

from dataloader_sdk.testing.sim import SimRow

__all__ = [
    "AppendOnlyModel",
    "CheckAndLoadModel",
    "ChunkedBackfillModel",
    "FullModel",
    "IncrementalModel",
    "Outcome",
    "ReferenceModel",
    "RollingModel",
    "SignatureMode",
]

#: What a load must end in. ``loaded_or_skipped``: either is right (the source changed and
#: changed back; see :class:`CheckAndLoadModel`).
Outcome = Literal["loaded", "skipped", "nothing", "refused", "loaded_or_skipped"]

#: How a connector's ChangeSignature probe sees changes (``SourceHarness.change_signature``).
SignatureMode = Literal["exact", "content", "none"]


class ReferenceModel:
    """Base class: ``target`` maps a row id (or a counter for append-only) to a row."""

    #: Compare the ``_dl_deleted`` flag too.
    flags_deletes = False
    #: Rows may repeat in the target (append_only).
    multiset = False

    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []
        self.watermark: int | date | None = None
        #: The last load must write nothing (no Delta commit): a no-op run.
        self.noop = False

    def load(self, snapshot: list[SimRow], steps: int | None, changes: int) -> Outcome:
        """Apply one load; ``changes`` counts every source change so far (exact signatures)."""
        raise NotImplementedError

    def expected(self) -> Counter[tuple[Any, ...]]:
        """The target as a multiset of row tuples."""
        return Counter(self.rows)

    def declare_signature(self, mode: SignatureMode) -> None:
        """Told the source's change-signature mode before the first load (most models
        do not depend on it)."""


def _cursor_rows(snapshot: list[SimRow]) -> list[SimRow]:
    return [r for r in snapshot if r.cur is not None]


def _top(snapshot: list[SimRow]) -> int | None:
    cursors = [r.cur for r in snapshot if r.cur is not None]
    return max(cursors) if cursors else None


class FullModel(ReferenceModel):
    """``full``: the target is the source as of the last committed load."""

    def load(self, snapshot: list[SimRow], steps: int | None, changes: int) -> Outcome:
        if steps == 0:
            return "nothing"
        self.rows = [r.key() for r in snapshot]
        return "loaded"


class CheckAndLoadModel(FullModel):
    """``check_and_load`` over ``full``: skipped iff the signature did not change.

    The signature is row count and max(cursor), plus what the connector's ChangeSignature
    sees: with an ``exact`` one, every change (counted); with a ``content`` one (a hash
    of the rows), the rows themselves. An exact signature may also be a content hash
    that calls itself exact: when the source changed and changed back (a row inserted
    and deleted again) the model accepts a load or a skip, since both leave the target
    as it is. So a correct connector never fails at random.
    """

    def __init__(self, exact: bool) -> None:
        super().__init__()
        self.exact = exact
        self.mode: SignatureMode = "exact" if exact else "none"
        self.signature: tuple[Any, ...] | None = None
        #: The source rows of the last committed load.
        self.loaded: Counter[tuple[Any, ...]] | None = None

    def declare_signature(self, mode: SignatureMode) -> None:
        self.mode = mode
        self.exact = mode != "none"

    def load(self, snapshot: list[SimRow], steps: int | None, changes: int) -> Outcome:
        content = Counter(r.key() for r in snapshot)
        signature: tuple[Any, ...] = (len(snapshot), _top(snapshot))
        if self.mode == "content":
            signature += (tuple(sorted(content.items())),)
        elif self.exact:
            signature += (changes,)
        if self.signature == signature:
            return "skipped"
        if self.mode == "exact" and content == self.loaded:
            # Changed and changed back: a change counter loads, a content hash skips;
            # the target holds these rows already either way.
            if steps != 0:
                self.signature = signature
            return "loaded_or_skipped"
        outcome = super().load(snapshot, steps, changes)
        if outcome == "loaded":
            self.signature = signature
            self.loaded = content
        return outcome


class IncrementalModel(ReferenceModel):
    """``incremental`` (integer cursor ``cur``, keys ``id``, NULL cursors excluded)."""

    def __init__(self, lookback: int = 0, delete_mode: str | None = None) -> None:
        super().__init__()
        self.lookback = lookback
        self.delete_mode = delete_mode
        self.flags_deletes = delete_mode == "flag"
        self.by_id: dict[int, SimRow] = {}
        #: The boundary rule: the rows of the last committed read with a cursor in
        #: ``[H - lookback, H]``, i.e. what an unchanged source returns next time.
        #: ``None`` when unknown (a crash after the commit loses it; see _boundary.py).
        self.boundary: Counter[tuple[Any, ...]] | None = None

    def window(self, snapshot: list[SimRow], high: int) -> list[SimRow]:
        """Rows the run reads."""
        low = None if self.watermark is None else int(self.watermark) - self.lookback  # type: ignore[arg-type]
        return [r for r in _cursor_rows(snapshot)
                if (low is None or r.cur >= low) and r.cur <= high]  # type: ignore[operator]

    def merge(self, rows: list[SimRow]) -> None:
        """Sequence-guarded upsert, with the soft-delete mode."""
        for row in rows:
            current = self.by_id.get(row.id)
            if current is not None and current.cur is not None and row.cur < current.cur:  # type: ignore[operator]
                continue  # the target row is newer
            if self.delete_mode == "delete" and row.gone:
                self.by_id.pop(row.id, None)
                continue
            self.by_id[row.id] = row

    def load(self, snapshot: list[SimRow], steps: int | None, changes: int) -> Outcome:
        self.noop = False
        high = _top(snapshot)
        if high is None or (self.watermark is not None and high < self.watermark):  # type: ignore[operator]
            return "nothing"
        rows = self.window(snapshot, high)
        if high == self.watermark and Counter(r.key() for r in rows) == self.boundary:
            # Exactly the rows the last commit merged: nothing is written (so an armed
            # crash never fires either).
            self.noop = True
            return "nothing"
        if steps == 0:
            return "nothing"
        self.merge(rows)
        self.watermark = high
        self.boundary = None if steps is not None else Counter(
            r.key() for r in rows if r.cur >= high - self.lookback)  # type: ignore[operator]
        return "loaded"

    def expected(self) -> Counter[tuple[Any, ...]]:
        if self.flags_deletes:
            return Counter((*r.key(), r.gone) for r in self.by_id.values())
        return Counter(r.key() for r in self.by_id.values())


class AppendOnlyModel(ReferenceModel):
    """``append_only`` on ``cur``: rows with ``W < cur <= H`` appended once per run."""

    multiset = True

    def load(self, snapshot: list[SimRow], steps: int | None, changes: int) -> Outcome:
        high = _top(snapshot)
        self.noop = self.watermark is not None and high == self.watermark
        if high is None or (self.watermark is not None and high <= self.watermark):  # type: ignore[operator]
            return "nothing"
        low = self.watermark
        rows = [r for r in _cursor_rows(snapshot)
                if (low is None or r.cur > low) and r.cur <= high]  # type: ignore[operator]
        if steps == 0:
            return "nothing"
        self.rows.extend(r.key() for r in rows)
        self.watermark = high
        return "loaded"


class RollingModel(ReferenceModel):
    """``rolling`` over ``day``: replace ``day >= today - window``, guarded."""

    def __init__(self, today: date, window_days: int, threshold: int = 0) -> None:
        super().__init__()
        self.start = today - timedelta(days=window_days)
        self.threshold = threshold
        self.loaded_once = False

    def load(self, snapshot: list[SimRow], steps: int | None, changes: int) -> Outcome:
        if not snapshot and not self.loaded_once:
            return "nothing"
        fresh = [r.key() for r in snapshot if r.day >= self.start]
        kept = [row for row in self.rows if row[3] < self.start]
        held = len(self.rows) - len(kept)
        if not fresh and held > self.threshold:
            return "refused"
        if steps == 0:
            return "nothing"
        self.rows = kept + fresh
        self.loaded_once = True
        self.watermark = self.start
        return "loaded"


@dataclass(frozen=True)
class _Ledger:
    low: int
    high: int
    chunks: int
    done: frozenset[int]
    handover: int | None


class ChunkedBackfillModel(IncrementalModel):
    """``chunked_backfill`` on ``id`` (merge on ``id``), then ``incremental`` on ``cur``."""

    def __init__(self, size: int, per_run: int) -> None:
        super().__init__(lookback=0)
        self.size = size
        self.per_run = per_run
        self.ledger: _Ledger | None = None

    def load(self, snapshot: list[SimRow], steps: int | None, changes: int) -> Outcome:
        ledger = self.ledger
        if ledger is None:
            if not snapshot:
                return "nothing"
            low, high = min(r.id for r in snapshot), max(r.id for r in snapshot)
            ledger = _Ledger(low, high, (high - low) // self.size + 1, frozenset(),
                             _top(snapshot))
        if len(ledger.done) == ledger.chunks:
            return super().load(snapshot, steps, changes)
        todo = [i for i in range(ledger.chunks) if i not in ledger.done][: self.per_run]
        if steps is not None:
            todo = todo[:steps]
        if not todo:
            return "nothing"
        for index in todo:
            lo = ledger.low + index * self.size
            last = index == ledger.chunks - 1
            hi = ledger.high if last else lo + self.size
            rows = [r for r in snapshot if r.id >= lo and (r.id <= hi if last else r.id < hi)]
            for row in rows:  # a plain merge on the key: no sequence guard
                self.by_id[row.id] = row
            ledger = replace(ledger, done=ledger.done | {index})
        self.ledger = ledger
        if len(ledger.done) == ledger.chunks:
            self.watermark = ledger.handover
        return "loaded"

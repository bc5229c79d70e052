"""The no-op boundary rule, step by step: an unchanged source writes nothing, yet every
change at or below the watermark (a tie, an update of a tied row, a late row inside the
lookback) still loads, and a crash after a commit never makes a later run skip a change.

The random sequences of test_conformance.py cover the same rule; this walks its edges in
a fixed order so each one is certain to run. After every load the machine compares the
target with the reference model (which reads the source snapshot independently) and, when
the model says nothing changed, checks that the run never reached the engine.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dataloader_sdk.model import RunRecord
from dataloader_sdk.plugins import get_host
from dataloader_sdk.testing import EngineFactory, SqlAlchemySourceHarness, case
from dataloader_sdk.testing.machine import build_machine
from dataloader_sdk.testing.sim import SimRow
from tests.conformance.conftest import SOURCES

pytestmark = [pytest.mark.conformance, pytest.mark.integration]


def _machine(source: SqlAlchemySourceHarness, engines: EngineFactory, tmp_path: Path) -> Any:
    machine_class = build_machine(case("incremental"), source, engines, tmp_path, get_host())
    return machine_class()


class _Loads:
    """Loads the machine's table alone, or as a batch of one (``load_tables``), whose
    unchanged sweep must then be what recorded every no-op run (its log line says so)."""

    def __init__(self, batch: bool, caplog: pytest.LogCaptureFixture) -> None:
        self.batch = batch
        self.caplog = caplog

    def __call__(self, machine: Any, *, noop: bool, point: str | None = None) -> None:
        writes = machine.engine.writes
        self.caplog.clear()
        with self.caplog.at_level(logging.INFO, logger="dataloader_sdk.unchanged_sweep"):
            machine.load(point, batch=self.batch)
        assert machine.model.noop is noop
        if not noop and point in (None, "after_commit"):  # the other crashes precede it
            assert machine.engine.writes == writes + 1
        swept = [r for r in self.caplog.records if "1 of 1 table(s) unchanged" in r.message]
        # Alone, nothing is swept; in a batch, exactly the no-op runs are.
        assert bool(swept) is (self.batch and noop), (self.batch, noop, point)


@pytest.mark.parametrize("batch", [False, True], ids=["alone", "batch"])
@pytest.mark.parametrize("source_harness", SOURCES, indirect=True)
def test_noop_runs_write_nothing_and_every_boundary_change_loads(
    source_harness: SqlAlchemySourceHarness, delta_rs_engine_factory: EngineFactory,
    tmp_path: Path, batch: bool, caplog: pytest.LogCaptureFixture,
) -> None:
    _load = _Loads(batch, caplog)
    m = _machine(source_harness, delta_rs_engine_factory, tmp_path)  # lookback 2
    try:
        m.insert(n=3, tie=False, offset=0)             # cursors 1, 2, 3
        m.insert(n=2, tie=True, offset=0)              # two more rows tied at 3
        _load(m, noop=False)
        _load(m, noop=True)                            # re-reads 1..3: nothing new
        _load(m, noop=True)
        m.late_insert(back=0)                          # a new row tied with W = 3
        _load(m, noop=False)
        _load(m, noop=True)
        tied = m.rows[5]
        m._update(SimRow(tied.id, f"{tied.val}!", tied.cur, tied.day))  # same cursor
        _load(m, noop=False)
        m.late_insert(back=2)                          # cursor 1 = W - lookback: inside
        _load(m, noop=False)
        m.late_insert(back=3)                          # cursor 0: below the lookback
        _load(m, noop=True)                            # not read, by design (the model agrees)
        m.delete(_Pick(4))                             # a row of the window disappears
        _load(m, noop=False)
        _load(m, noop=True)
        # A crash after the commit: the state rolled forward from Delta has no digest, so
        # the next unchanged run merges once more (harmless) before runs are no-ops again.
        m.insert(n=1, tie=False, offset=0)
        _load(m, noop=False, point="after_commit")
        _load(m, noop=False)
        _load(m, noop=True)
        # A crash before the commit keeps the old digest, which is still the truth.
        m.late_insert(back=1)
        _load(m, noop=False, point="before_commit")
        _load(m, noop=False)
        _load(m, noop=True, point="mid_read")          # armed, but nothing reaches the engine
        # New rows above W: the rows re-read at and below W hash to the last commit's
        # digest, so only the new row is merged (the merge leaves their file alone).
        m.insert(n=1, tie=False, offset=0)
        newest = _new_run(m, lambda: _load(m, noop=False))
        assert newest.rows_written == 1 < newest.rows_read, newest
        # A tie with W and a new row above it: the boundary differs, so all rows merge.
        m.late_insert(back=0)
        m.insert(n=1, tie=False, offset=0)
        newest = _new_run(m, lambda: _load(m, noop=False))
        assert newest.rows_written == newest.rows_read > 2, newest
        _load(m, noop=True)
        records = [r for r in m.loader.store.runs("conformance")
                   if r.status == "succeeded" and r.steps_committed == 0 and r.rows_read]
        assert records and all(r.rows_written == 0 and "nothing changed" in r.note
                               for r in records)
    finally:
        m.teardown()


def _new_run(machine: Any, load: Callable[[], None]) -> RunRecord:
    """The history row of the run ``load`` makes (the machine's clock may stand still,
    so "newest" cannot be told by start time)."""
    before = {r.run_id for r in machine.loader.store.runs("conformance", limit=1000)}
    load()
    (new,) = [r for r in machine.loader.store.runs("conformance", limit=1000)
              if r.run_id not in before]
    return new


class _Pick:
    """A stand-in for hypothesis' ``data`` that picks one given row id."""

    def __init__(self, row_id: int) -> None:
        self.row_id = row_id

    def draw(self, strategy: object, label: str = "") -> int:
        return self.row_id

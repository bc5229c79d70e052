"""The model-based conformance test: random source changes interleaved with loads.

For one :class:`~dataloader_sdk.testing.cases.ConformanceCase`, hypothesis generates
sequences of source changes (inserts, updates, deletes, late-arriving rows with old cursor
values, ties on the cursor, NULL cursors, soft deletes) and loads, some of which crash at a
step boundary (see :mod:`dataloader_sdk.testing.faults`). After every load the Delta
target must equal the reference model: no row lost, none duplicated, none regressed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

from dataloader_sdk.control.store import ControlStore
from dataloader_sdk.engines.base import Engine
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.model import TableConfig, TableRead, TargetName
from dataloader_sdk.plugins import PluginHost, get_host
from dataloader_sdk.testing.cases import TODAY, ConformanceCase
from dataloader_sdk.testing.faults import CRASH_POINTS, FaultyEngine
from dataloader_sdk.testing.reference import AppendOnlyModel, IncrementalModel
from dataloader_sdk.testing.sim import SIM_COLUMNS, SimRow, SourceHarness

__all__ = ["NOW", "EngineFactory", "run_conformance"]

#: The runner's fixed clock: noon UTC on the conformance run date.
NOW = datetime.combine(TODAY, time(12), tzinfo=timezone.utc)

EngineFactory = Callable[[Path], Engine]

TARGET = TargetName("bronze", "conformance")


def _examples() -> int:
    return int(os.environ.get("DL_CONFORMANCE_EXAMPLES", "10"))


def _steps() -> int:
    return int(os.environ.get("DL_CONFORMANCE_STEPS", "14"))


def run_conformance(
    case: ConformanceCase,
    source: SourceHarness,
    engine_factory: EngineFactory,
    *,
    workdir: Path,
    host: PluginHost | None = None,
    examples: int | None = None,
    steps: int | None = None,
    read: TableRead | None = None,
) -> None:
    """Run the model-based conformance test of ``case`` on a source and an engine.

    ``read`` sets the table's read path (default: through the connector).

    Raises:
        AssertionError: the target differed from the model (hypothesis shrinks the
            sequence of changes and loads and prints it).
    """
    from hypothesis import HealthCheck, settings
    from hypothesis.stateful import run_state_machine_as_test

    machine = build_machine(case, source, engine_factory, workdir, host or get_host(),
                            read=read)
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=examples or _examples(),
            stateful_step_count=steps or _steps(),
            deadline=None,
            database=None,
            derandomize=os.environ.get("CI") == "true",
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


def build_machine(
    case: ConformanceCase,
    source: SourceHarness,
    engine_factory: EngineFactory,
    workdir: Path,
    host: PluginHost,
    *,
    read: TableRead | None = None,
) -> type[Any]:
    """A hypothesis ``RuleBasedStateMachine`` class for ``case``."""
    from hypothesis import strategies as st
    from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

    allowed = case.operations
    exact = source.change_signature != "none"

    def allows(operation: str, needs_rows: bool = True) -> Callable[[Any], bool]:
        return lambda self: operation in allowed and (bool(self.rows) or not needs_rows)

    class ConformanceMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.dir = Path(tempfile.mkdtemp(prefix="conf-", dir=workdir))
            self.sim = source.create_table()
            self.rows: dict[int, SimRow] = {}
            self.next_id = 1
            self.clock = 0
            self.changes = 0
            self.model = case.model(exact)
            self.model.declare_signature(source.change_signature)
            store = ControlStore.open(f"sqlite:///{self.dir / 'dataloader.db'}",
                                      max_retries=1_000_000)
            self.engine = FaultyEngine(engine_factory(self.dir / "delta"))
            self.loader = DataLoader(store, self.engine, host=host, clock=lambda: NOW)
            config = source.source_config("conformance_source")
            self.loader.add_source(config, actor="conformance")
            self.loader.add_table(TableConfig(
                name="conformance", source=config.name, source_table=self.sim.name,
                source_schema=source.schema, target=TARGET, strategy=case.strategy,
                strategy_options=case.options, read=read or TableRead(),
            ), actor="conformance")

        def teardown(self) -> None:
            self.loader.close()
            self.sim.drop()
            shutil.rmtree(self.dir, ignore_errors=True)

        # -- source changes ---------------------------------------------------------

        def _tick(self, tie: bool) -> int:
            if not tie or self.clock == 0:
                self.clock += 1
            return self.clock

        def _pick(self, data: st.DataObject) -> SimRow:
            return self.rows[data.draw(st.sampled_from(sorted(self.rows)), label="row")]

        def _update(self, row: SimRow) -> None:
            self.sim.update(row)
            self.rows[row.id] = row
            self.changes += 1

        @precondition(allows("insert", needs_rows=False))
        @rule(n=st.integers(1, 3), tie=st.booleans(), offset=st.integers(-12, 3))
        def insert(self, n: int, tie: bool, offset: int) -> None:
            new = []
            for _ in range(n):
                new.append(SimRow(self.next_id, f"v{self.next_id}", self._tick(tie),
                                  TODAY + timedelta(days=offset)))
                self.next_id += 1
            self.sim.insert(new)
            self.rows.update((r.id, r) for r in new)
            self.changes += 1

        @precondition(allows("update"))
        @rule(data=st.data(), tie=st.booleans(), offset=st.integers(-12, 3))
        def update(self, data: st.DataObject, tie: bool, offset: int) -> None:
            row = self._pick(data)
            self._update(SimRow(row.id, f"{row.val}+", self._tick(tie),
                                TODAY + timedelta(days=offset), row.gone))

        @precondition(allows("late_update"))
        @rule(data=st.data(), back=st.integers(1, 6))
        def late_update(self, data: st.DataObject, back: int) -> None:
            """A change that arrives with an old cursor value (a late-arriving row)."""
            row = self._pick(data)
            self._update(SimRow(row.id, f"{row.val}~", max(self.clock - back, 0), row.day,
                                row.gone))

        @precondition(allows("late_insert", needs_rows=False))
        @rule(back=st.integers(0, 4))
        def late_insert(self, back: int) -> None:
            """A new row whose cursor is at or just below the current one (a late arrival:
            inside or outside the lookback, or tied with the watermark when ``back`` is 0)."""
            row = SimRow(self.next_id, f"v{self.next_id}", max(self.clock - back, 0), TODAY)
            self.next_id += 1
            self.sim.insert([row])
            self.rows[row.id] = row
            self.changes += 1

        @precondition(allows("delete"))
        @rule(data=st.data())
        def delete(self, data: st.DataObject) -> None:
            row = self._pick(data)
            self.sim.delete(row.id)
            del self.rows[row.id]
            self.changes += 1

        @precondition(allows("null_cursor"))
        @rule(data=st.data())
        def null_cursor(self, data: st.DataObject) -> None:
            row = self._pick(data)
            self._update(SimRow(row.id, f"{row.val}0", None, row.day, row.gone))

        @precondition(allows("soft_delete"))
        @rule(data=st.data())
        def soft_delete(self, data: st.DataObject) -> None:
            row = self._pick(data)
            self._update(SimRow(row.id, row.val, self._tick(False), row.day, True))

        # -- loads --------------------------------------------------------------------

        @rule(point=st.sampled_from((None, None, None, *CRASH_POINTS)), batch=st.booleans())
        def load(self, point: str | None, batch: bool = False) -> None:
            """One run: alone (``load_table``) or as a batch of one (``load_tables``,
            whose unchanged sweep records a run that would commit nothing without it)."""
            snapshot = sorted(self.rows.values(), key=lambda r: r.id)
            committed = None if point is None else (1 if point == "after_commit" else 0)
            outcome = self.model.load(snapshot, committed, self.changes)
            self.engine.arm(point)  # type: ignore[arg-type]
            crashes_before = self.engine.crashes
            writes_before = self.engine.writes
            record = (self.loader.load_tables(["conformance"])[0] if batch
                      else self.loader.load_table("conformance", raise_on_error=False))
            self.engine.arm(None)
            crashed = self.engine.crashes > crashes_before
            if self.model.noop:
                # Nothing new at the source (only rows the last commit merged were re-read):
                # the run must not reach the engine at all (no commit, no empty merge).
                assert not crashed and self.engine.writes == writes_before, record
                assert (record.rows_written, record.steps_committed) == (0, 0), record
            if crashed:
                assert record.status == "failed", record
            elif outcome == "refused":
                assert (record.status, record.error_class) == ("failed", "EmptyReadRefusedError")
            elif outcome == "skipped":
                assert record.status == "skipped", record
            elif outcome == "loaded_or_skipped":
                assert record.status in ("succeeded", "skipped"), record
            else:
                assert record.status == "succeeded", record
            self._compare(crashed)

        @rule()
        def load_twice(self) -> None:
            """Two loads in a row: the second sees no change (a no-op run, unless the
            first one could not keep its boundary)."""
            self.load(None)
            self.load(None, batch=True)

        def _compare(self, crashed: bool) -> None:
            expected = self.model.expected()
            actual = self._target_rows()
            missing = expected - actual
            extra = actual - expected
            assert not missing and not extra, (
                f"{case.id}: target differs from the model\n"
                f"  missing (lost or stale): {sorted(missing.elements())}\n"
                f"  unexpected (duplicated or wrong): {sorted(extra.elements())}"
            )
            if not crashed and isinstance(self.model, IncrementalModel | AppendOnlyModel) \
                    and type(self.model) in (IncrementalModel, AppendOnlyModel):
                state = self.loader.store.get_table("conformance").state
                value = state.watermark.value if state.watermark else None
                assert value == self.model.watermark, (value, self.model.watermark)

        def _target_rows(self) -> Counter[tuple[Any, ...]]:
            if not self.engine.exists(TARGET):
                return Counter()
            table = self.engine.read(TARGET)
            columns = list(SIM_COLUMNS)
            if self.model.flags_deletes:
                columns.append("_dl_deleted")
            data = [table.column(c).to_pylist() for c in columns]
            rows: Counter[tuple[Any, ...]] = Counter()
            for values in zip(*data, strict=True):
                row = list(values)
                row[4] = bool(row[4])  # SQLite and MySQL store booleans as 0/1
                rows[tuple(row)] += 1
            return rows

    ConformanceMachine.__name__ = f"Conformance_{case.id}_{source.name}"
    return ConformanceMachine

"""Table maintenance interleaved with loads and crashes loses nothing, duplicates nothing.

The reference is the source read independently with ``sqlite3``; the Delta table is read
back whole after every step. Maintenance commits (compaction, vacuum) land on top of the
loads' commits, so the loader's replay check and roll-forward must see through them.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from dataloader_sdk.config import Settings
from dataloader_sdk.control.maintenance import get_settings, set_policy
from dataloader_sdk.engines.base import MaintenanceTask
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.maintenance import CHECK_EVERY_COMMITS, maintain_table
from dataloader_sdk.model import SourceConfig, TableConfig, TargetName, utcnow
from dataloader_sdk.model.maintenance import MaintenancePolicy
from dataloader_sdk.plugins import PluginHost

pytestmark = [pytest.mark.conformance, pytest.mark.integration]

TARGET = TargetName("bronze", "orders")
ROOT = Path(__file__).resolve().parents[2]


def source_rows(db: Path) -> list[tuple[int, str, int]]:
    with sqlite3.connect(db) as conn:
        return sorted(conn.execute("SELECT id, payload, seq FROM orders").fetchall())


def target_rows(loader: DataLoader) -> list[tuple[int, str, int]]:
    table = loader.engine.read(TARGET)
    return sorted(zip(table["id"].to_pylist(), table["payload"].to_pylist(),
                      table["seq"].to_pylist(), strict=True))


class Source:
    """The source table, changed a little between runs (updates bump ``seq``)."""

    def __init__(self, db: Path) -> None:
        self.db, self.seq, self.next_id = db, 0, 1
        self.rng = random.Random(7)
        with sqlite3.connect(db) as conn:
            conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, payload TEXT NOT NULL,"
                         " seq INTEGER NOT NULL)")

    def change(self, inserts: int, updates: int, *, pad: int = 0) -> None:
        with sqlite3.connect(self.db) as conn:
            for _ in range(inserts):
                self.seq += 1
                noise = "".join(self.rng.choices("abcdefghij", k=pad))
                conn.execute("INSERT INTO orders VALUES (?, ?, ?)",
                             (self.next_id, f"p{self.next_id}{noise}", self.seq))
                self.next_id += 1
            for key in self.rng.sample(range(1, self.next_id), min(updates, self.next_id - 1)):
                self.seq += 1
                conn.execute("UPDATE orders SET payload = ?, seq = ? WHERE id = ?",
                             (f"u{self.seq}", self.seq, key))


def make_home(tmp_path: Path, strategy: str) -> tuple[Path, Source]:
    """A project whose table ``orders`` is loaded with ``strategy`` (merge keyed on id,
    or append_only: one new file per load, so compaction has work)."""
    source = Source(tmp_path / "source.db")
    source.change(200, 0)
    loader = open_loader(tmp_path)
    loader.add_source(SourceConfig(name="src", db_type="sqlalchemy",
                                   options={"url": f"sqlite:///{source.db}"}), actor="test")
    loader.add_table(TableConfig(name="orders", source="src", source_table="orders",
                                 target=TARGET, strategy=strategy,
                                 strategy_options={"watermark_column": "seq",
                                                   "primary_keys": ["id"]}
                                 if strategy == "incremental" else {"watermark_column": "seq"}),
                      actor="test")
    loader.close()
    return tmp_path, source


@pytest.fixture
def home(tmp_path: Path) -> tuple[Path, Source]:
    return make_home(tmp_path, "incremental")


@pytest.fixture
def append_home(tmp_path: Path) -> tuple[Path, Source]:
    return make_home(tmp_path, "append_only")


def open_loader(home: Path, *, hours_later: int = 0) -> DataLoader:
    return DataLoader.from_settings(Settings.default(home), host=PluginHost(),
                                    clock=lambda: utcnow() + timedelta(hours=hours_later))


def test_maintenance_interleaved_with_loads(home: tuple[Path, Source]) -> None:
    path, source = home
    loader = open_loader(path)
    try:
        done = 0
        for run in range(1, 3 * CHECK_EVERY_COMMITS + 1):
            assert loader.load_table("orders").status == "succeeded"
            assert target_rows(loader) == source_rows(source.db), f"after load {run}"
            if run % 7 == 0:  # explicit maintenance between loads, everything forced
                report = maintain_table(loader.store, loader.engine, "orders")
                assert report.status == "done", report
                assert target_rows(loader) == source_rows(source.db), f"after maint {run}"
            state = loader.store.get_table("orders").state
            assert loader.engine.recorded_version(TARGET, _app_id(loader)) == state.txn_version
            done += 1
            source.change(5, 3)
        # The hook after loads compacted on its own: the many one-run files were merged.
        files = loader.engine.table_files(TARGET, 8 * 1024 * 1024)  # type: ignore[attr-defined]
        assert files is not None and files.files < done
        assert loader.engine.newest_commit(TARGET) is not None
    finally:
        loader.close()


def _app_id(loader: DataLoader) -> str:
    commit = loader.engine.newest_commit(TARGET)
    assert commit is not None
    return commit.app_id


def test_roll_forward_sees_through_maintenance_commits(
    append_home: tuple[Path, Source],
) -> None:
    """A load killed after its Delta commit, then compaction and vacuum on top: the next
    run still rolls the control state forward from the load's commit (no re-load, no
    duplicate) and the table equals the source."""
    path, source = append_home
    loader = open_loader(path)
    for _ in range(4):  # inserts only: each load adds a file, so compaction has work
        loader.load_table("orders")
        source.change(10, 0)
    loader.close()
    child = subprocess.run(
        [sys.executable, "-m", "tests.conformance._kill_child", str(path), "orders",
         "after_commit"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert child.returncode == -9, child.stderr[-2000:]
    loader = open_loader(path, hours_later=2)  # the killed worker's lease has expired
    try:
        before = loader.store.get_table("orders").state
        assert target_rows(loader) == source_rows(source.db)  # Delta has the step...
        outcome = loader.engine.maintain(  # type: ignore[attr-defined]
            TARGET, MaintenanceTask(compact=True, checkpoint=True, vacuum=True,
                                    retention_hours=0, enforce_retention=False))
        assert outcome.files_removed > 1 and outcome.vacuumed_files > 1
        assert outcome.version is not None and outcome.version >= 3 + 4  # 3 commits on top
        commit = loader.engine.newest_commit(TARGET)
        assert commit is not None and commit.txn_version == before.txn_version + 1
        assert loader.engine.last_commit(TARGET, commit.app_id) == commit
        rerun = loader.load_table("orders")
        assert rerun.status == "succeeded" and rerun.rows_written == 0  # ...rolled forward
        assert target_rows(loader) == source_rows(source.db)
        assert loader.store.get_table("orders").state.txn_version == before.txn_version + 1
    finally:
        loader.close()


@pytest.mark.parametrize("kind", ["compact", "cluster"])
def test_crash_during_compaction_loses_nothing(kind: str, tmp_path: Path) -> None:
    """Killed mid-rewrite: compaction of an append-only table's small files, or
    clustering of a merged table; the table and the next loads lose nothing."""
    path, source = make_home(tmp_path, "append_only" if kind == "compact" else "incremental")
    loader = open_loader(path)
    # No maintenance after these loads: the child must find the small files to compact.
    set_policy(loader.store, "orders", MaintenancePolicy(enabled=False), actor="t", now=utcnow())
    for _ in range(12):
        source.change(20_000, 0 if kind == "compact" else 500, pad=40)
        loader.load_table("orders")
    version = loader.engine.table_files(TARGET, 1).version  # type: ignore[attr-defined]
    uri = Path(loader.engine.uri(TARGET))  # type: ignore[attr-defined]
    loader.close()
    with subprocess.Popen(
        [sys.executable, "-m", "tests.conformance._maint_kill_child", str(path),
         TARGET.schema, TARGET.table, kind], cwd=ROOT, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True,
    ) as child:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "ready"
        before = set(os.listdir(uri))
        child.stdin.write("go\n")
        child.stdin.flush()
        deadline = time.monotonic() + 120
        while not set(os.listdir(uri)) - before:  # the rewrite's first (staged) file
            assert child.poll() is None and time.monotonic() < deadline, f"{kind} ended"
        child.kill()
        assert child.wait(timeout=60) == -9
    loader = open_loader(path)
    try:
        files = loader.engine.table_files(TARGET, 1)  # type: ignore[attr-defined]
        assert files.version == version  # killed before the rewrite committed
        # The next load and maintenance work on a table with the crash's orphan files.
        source.change(10, 0 if kind == "compact" else 10)
        assert loader.load_table("orders").status == "succeeded"
        assert target_rows(loader) == source_rows(source.db)
        report = maintain_table(loader.store, loader.engine, "orders")
        assert report.status == "done" and report.outcome is not None
        # Compaction merges the small files; clustering splits the merged table's one.
        outcome = report.outcome
        assert (outcome.files_removed if kind == "compact" else outcome.files_added) > 1
        assert (outcome.clustered_version is not None) == (kind == "cluster")
        source.change(20, 0 if kind == "compact" else 20)
        assert loader.load_table("orders").status == "succeeded"
        assert target_rows(loader) == source_rows(source.db)
    finally:
        loader.close()


def test_clustering_interleaved_with_loads(tmp_path: Path) -> None:
    """A merged table clustered every few commits by the hook after loads, and by hand
    between them, while loads insert and update: after every step the table equals the
    source and the loader's replay check finds its own last commit."""
    path, source = make_home(tmp_path, "incremental")
    source.change(30_000, 0, pad=40)  # big enough to be clustered into several files
    loader = open_loader(path)
    try:
        set_policy(loader.store, "orders", MaintenancePolicy(cluster_every_commits=4),
                   actor="t", now=utcnow())
        clustered: set[int] = set()
        for run in range(1, 2 * CHECK_EVERY_COMMITS + 2):
            assert loader.load_table("orders").status == "succeeded"
            assert target_rows(loader) == source_rows(source.db), f"after load {run}"
            if run % 6 == 0:
                report = maintain_table(loader.store, loader.engine, "orders")
                assert report.status == "done" and report.outcome is not None, report
                assert report.outcome.clustered_version is not None
                assert target_rows(loader) == source_rows(source.db), f"after maint {run}"
            state = loader.store.get_table("orders").state
            assert loader.engine.recorded_version(TARGET, _app_id(loader)) == state.txn_version
            version = get_settings(loader.store, "orders").state.clustered_version
            if version is not None:
                clustered.add(version)
            source.change(50, 30)
        assert len(clustered) >= 4  # by hand three times, by the hook at least once more
    finally:
        loader.close()

"""A load process SIGKILLed at a step boundary loses nothing and duplicates nothing.

Unlike the injected crashes of the model-based suite, no exception handler or ``finally``
runs here: the control DB is left with the table ``running`` under a lease, exactly as
after a real crash. The next run (after the lease expired) must take the table over,
roll the control state forward from the Delta commit if there is one, and finish.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from dataloader_sdk.config import Settings
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.model import SourceConfig, TableConfig, TargetName, Watermark, utcnow
from dataloader_sdk.plugins import PluginHost

pytestmark = [pytest.mark.conformance, pytest.mark.integration]

TARGET = TargetName("bronze", "events")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    source = tmp_path / "source.db"
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)")
        conn.executemany("INSERT INTO events VALUES (?, ?)",
                         [(i, f"e{i}") for i in range(1, 1001)])
    loader = DataLoader.from_settings(Settings.default(tmp_path), host=PluginHost())
    loader.add_source(SourceConfig(name="src", db_type="sqlalchemy",
                                   options={"url": f"sqlite:///{source}", "batch_rows": 100}),
                      actor="test")
    loader.add_table(TableConfig(name="events", source="src", source_table="events",
                                 target=TARGET, strategy="append_only",
                                 strategy_options={"watermark_column": "id"}), actor="test")
    assert loader.load_table("events").rows_written == 1000
    with sqlite3.connect(source) as conn:
        conn.executemany("INSERT INTO events VALUES (?, ?)",
                         [(i, f"e{i}") for i in range(1001, 1501)])
    loader.close()
    return tmp_path


def kill_during_load(home: Path, point: str) -> None:
    child = subprocess.run(
        [sys.executable, "-m", "tests.conformance._kill_child", str(home), "events", point],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert child.returncode == -9, (child.returncode, child.stderr[-2000:])


def later_loader(home: Path) -> DataLoader:
    # The killed worker's lease (1 h) must have expired before another worker may take over.
    return DataLoader.from_settings(Settings.default(home), host=PluginHost(),
                                    clock=lambda: utcnow() + timedelta(hours=2))


@pytest.mark.parametrize("point", ["after_commit", "mid_read"])
def test_killed_load_is_recovered_exactly(home: Path, point: str) -> None:
    kill_during_load(home, point)
    loader = later_loader(home)
    try:
        stuck = loader.store.get_table("events")
        assert stuck.status == "running" and stuck.lease_owner is not None
        assert stuck.state.watermark == Watermark("int", 1000)  # control DB not updated
        ids = loader.engine.read(TARGET)["id"].to_pylist()
        if point == "after_commit":
            assert sorted(ids) == list(range(1, 1501))  # Delta has the step
        else:
            assert sorted(ids) == list(range(1, 1001))  # the half-read step never committed
        rerun = loader.load_table("events")
        assert rerun.status == "succeeded"
        assert rerun.rows_written == (0 if point == "after_commit" else 500)
        ids = loader.engine.read(TARGET)["id"].to_pylist()
        assert sorted(ids) == list(range(1, 1501))  # 0 lost, 0 duplicated
        record = loader.store.get_table("events")
        assert record.status == "succeeded"
        assert record.state.watermark == Watermark("int", 1500)
    finally:
        loader.close()

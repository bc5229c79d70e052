"""Ctrl-C and SIGTERM during ``dataloader run`` (issue 17, item 1).

A real ``dataloader run`` subprocess reads a SQLite table big enough to be mid-read when
the test signals it: the test waits for the command's own progress line saying rows were
read, then sends SIGINT or SIGTERM. Afterwards everything is checked independently of the
code under test: the control DB with raw ``sqlite3`` (table status, lease, history row),
the Delta table with ``deltalake`` (no new version, the same files on disk), and the
next run loads exactly the source's rows (read with raw ``sqlite3``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from deltalake import DeltaTable

from dataloader_sdk.model import SourceConfig, TableConfig, TargetName
from tests.reliability._home import open_loader

pytestmark = [pytest.mark.slow, pytest.mark.integration]

ROWS = 600_000
BATCH = 2_000
TARGET = TargetName("bronze", "big")
DEADLINE = 120.0
# The installed console script, as a user runs it (python -m when it is not installed).
_SCRIPT = Path(sys.executable).with_name("dataloader")
DATALOADER = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "dataloader_sdk"]


@dataclass
class Project:
    home: Path
    source: Path
    control_db: Path
    table_dir: Path


def _make_source(path: Path, rows: int) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT)")
        conn.executemany("INSERT INTO big VALUES (?, ?)",
                         ((i, f"value-{i:012d}") for i in range(rows)))
    conn.close()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A home whose table ``big`` was loaded once, from a 600,000-row source.

    The source is then changed (one row more), so a run that committed would add a new
    Delta version: every cancelled run must leave version 0 and its files.
    """
    home = tmp_path_factory.mktemp("cancel")
    source = home / "src.db"
    _make_source(source, 1_000)
    loader = open_loader(home)
    try:
        loader.add_source(SourceConfig(
            name="src", db_type="sqlalchemy",
            options={"url": f"sqlite:///{source}", "batch_rows": BATCH}), actor="t")
        loader.add_table(TableConfig(name="big", source="src", source_table="big",
                                     target=TARGET, strategy="full"), actor="t")
        assert loader.load_table("big").status == "succeeded"
        control_url = loader.store._target.url
        table_dir = Path(loader.engine.uri(TARGET))  # type: ignore[attr-defined]
    finally:
        loader.close()
    with sqlite3.connect(source) as conn:
        conn.executemany("INSERT INTO big VALUES (?, ?)",
                         ((i, f"value-{i:012d}") for i in range(1_000, ROWS)))
    conn.close()
    return Project(home, source, Path(str(control_url.database)), table_dir)


def _start(project: Project) -> subprocess.Popen[str]:
    env = {**os.environ, "DATALOADER_PROGRESS_SECONDS": "0", "NO_COLOR": "1"}
    return subprocess.Popen(
        [*DATALOADER, "--home", str(project.home), "run", "big"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


def _wait_until_reading(proc: subprocess.Popen[str]) -> list[str]:
    """Read the command's progress lines until one says rows were read (mid-read)."""
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("big: reading") and "rows/s" in line:
            return lines
    proc.kill()
    pytest.fail(f"the run never reported reading rows: {lines!r}")


def _control(project: Project) -> tuple[tuple[object, ...], list[tuple[object, ...]]]:
    conn = sqlite3.connect(project.control_db)
    try:
        table = conn.execute("SELECT status, lease_owner, lease_expires_at FROM table_control "
                             "WHERE name = 'big'").fetchone()
        runs = conn.execute("SELECT status, error_class, rows_read, finished_at FROM "
                            "historical_metadata WHERE table_name = 'big' "
                            "ORDER BY started_at").fetchall()
    finally:
        conn.close()
    return table, runs


def _files(project: Project) -> set[str]:
    return {p.name for p in project.table_dir.rglob("*.parquet")}


def _source_ids(project: Project) -> list[int]:
    conn = sqlite3.connect(project.source)
    try:
        return sorted(r[0] for r in conn.execute("SELECT id FROM big"))
    finally:
        conn.close()


def _assert_clean_cancel(project: Project, runs_before: int, files_before: set[str]) -> None:
    table, runs = _control(project)
    assert table == ("cancelled", None, None), runs  # status, no lease owner, no expiry
    assert len(runs) == runs_before + 1
    status, error_class, rows_read, finished_at = runs[-1]
    assert (status, error_class) == ("cancelled", "LoadCancelledError")
    assert finished_at is not None
    assert 0 < int(rows_read) < ROWS  # stopped mid-read  # type: ignore[call-overload]
    delta = DeltaTable(str(project.table_dir))
    assert delta.version() == 0  # nothing committed
    assert _files(project) == files_before  # no orphan Parquet file left behind
    assert not list(project.table_dir.glob("_delta_log/*.tmp"))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_mid_read_cancels_cleanly(project: Project, sig: signal.Signals) -> None:
    _, runs = _control(project)
    files_before = _files(project)
    proc = _start(project)
    _wait_until_reading(proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err and "Fatal Python error" not in err, err
    assert f"{sig.name}: cancelling" in err
    assert "cancelled" in out
    _assert_clean_cancel(project, len(runs), files_before)


def test_a_second_sigint_exits_at_once_and_leaves_the_same_state(project: Project) -> None:
    _, runs = _control(project)
    files_before = _files(project)
    proc = _start(project)
    _wait_until_reading(proc)
    proc.send_signal(signal.SIGINT)
    # The second one only once the first was handled (two signals sent back to back
    # are one to Python): as soon as the command says it is cancelling.
    assert proc.stderr is not None
    first = proc.stderr.readline()
    assert "SIGINT: cancelling" in first, first
    with contextlib.suppress(ProcessLookupError):  # the cancel may have been faster
        proc.send_signal(signal.SIGINT)
    out, rest = proc.communicate(timeout=DEADLINE)
    err = first + rest
    assert proc.returncode == 130, (out, err)
    assert "Fatal Python error" not in err and "Traceback" not in err, err
    _assert_clean_cancel(project, len(runs), files_before)
    # The next claim works (no lease left over): the last test loads the table.


def test_the_next_run_after_cancels_loads_exactly_the_source(project: Project) -> None:
    # Runs after the cancel tests in this module (file order); on its own it still holds.
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run(
        [*DATALOADER, "--home", str(project.home), "run", "big"],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert done.returncode == 0, (done.stdout, done.stderr)
    table, runs = _control(project)
    assert table[:2] == ("succeeded", None)
    assert runs[-1][0] == "succeeded"
    delta = DeltaTable(str(project.table_dir))
    assert delta.version() == 1
    got = delta.to_pyarrow_table(columns=["id"]).column("id").to_pylist()
    assert sorted(got) == _source_ids(project)
    # The commit never states a wrong row count (it said '0' before): a step bigger than
    # the engine's read-ahead leaves dataloader.rows out, and Delta's own metrics count it.
    commit = delta.history(1)[0]
    assert commit.get("dataloader.rows", str(ROWS)) == str(ROWS)
    assert commit["operationMetrics"]["num_added_rows"] == ROWS

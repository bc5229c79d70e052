"""Cancelling loads in-process (issue 17, item 1): the token, the signal handlers, a
notebook's interrupt, stale leases of dead processes, ``unlock``, and the files a failed
write leaves. The subprocess signal tests are in tests/reliability/test_cancel_signals.py.

The control DB is checked with raw ``sqlite3`` and the Delta table with ``deltalake``.
"""

from __future__ import annotations

import gc
import logging
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from dataloader_sdk.cancel import CancelToken, LoadCancelledError, cancel_on_signals
from dataloader_sdk.control.owners import local_host, owner_is_gone
from dataloader_sdk.errors import DestinationError, LeaseError, StateError
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.model import (
    Column,
    CommitInfo,
    Compare,
    ReplaceWhere,
    SourceConfig,
    TableConfig,
    TableState,
    TargetName,
)
from dataloader_sdk.runner import ProgressUpdate
from tests.reliability._home import open_loader

ROWS = 20_000
BATCH = 1_000
TARGET = TargetName("bronze", "items")


@pytest.fixture
def loader(tmp_path: Path) -> Iterator[DataLoader]:
    source = tmp_path / "src.db"
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, v TEXT)")
        conn.executemany("INSERT INTO items VALUES (?, ?)", ((i, f"v{i}") for i in range(ROWS)))
    conn.close()
    dl = open_loader(tmp_path / "home")
    dl.add_source(SourceConfig(name="src", db_type="sqlalchemy",
                               options={"url": f"sqlite:///{source}", "batch_rows": BATCH}),
                  actor="t")
    dl.add_table(TableConfig(name="items", source="src", source_table="items", target=TARGET,
                             strategy="full"), actor="t")
    yield dl
    dl.close()


def _control(dl: DataLoader) -> tuple[tuple[object, ...], list[tuple[object, ...]]]:
    path = str(dl.store._target.url.database)
    conn = sqlite3.connect(path)
    try:
        table = conn.execute("SELECT status, lease_owner, lease_expires_at FROM table_control "
                             "WHERE name = 'items'").fetchone()
        runs = conn.execute("SELECT status, error_class, rows_read FROM historical_metadata "
                            "ORDER BY started_at").fetchall()
    finally:
        conn.close()
    return table, runs


def _assert_cancelled(dl: DataLoader) -> None:
    table, runs = _control(dl)
    assert table == ("cancelled", None, None)
    assert [r[:2] for r in runs] == [("cancelled", "LoadCancelledError")]
    assert 0 < int(str(runs[0][2])) < ROWS
    # Nothing was written: no Delta table at all (the read is staged before any write).
    assert not Path(dl.engine.uri(TARGET)).exists()  # type: ignore[attr-defined]


def _interrupt_after_first_batch(action: object) -> object:
    def progress(update: ProgressUpdate) -> None:
        if update.phase == "reading" and update.rows == BATCH:
            action()  # type: ignore[operator]

    return progress


# -- the token and the handlers ------------------------------------------------------------


def test_first_signal_cancels_the_token_and_the_second_calls_on_second() -> None:
    token = CancelToken()
    announced: list[str] = []
    second = threading.Event()
    before = signal.getsignal(signal.SIGTERM)
    with cancel_on_signals(token, announce=announced.append, on_second=second.set):
        os.kill(os.getpid(), signal.SIGTERM)
        assert token.cancelled and announced == ["SIGTERM"]
        assert not second.is_set()
        os.kill(os.getpid(), signal.SIGINT)
        assert second.is_set()
    assert signal.getsignal(signal.SIGTERM) is before  # restored
    with pytest.raises(LoadCancelledError, match="'t': cancelled \\(SIGTERM received\\)"):
        token.check("t")


# -- a notebook: load_table ------------------------------------------------------------------


def test_ctrl_c_in_load_table_cancels_cleanly(loader: DataLoader) -> None:
    progress = _interrupt_after_first_batch(lambda: os.kill(os.getpid(), signal.SIGINT))
    with pytest.raises(LoadCancelledError, match="'items': cancelled"):
        loader.load_table("items", progress=progress)  # type: ignore[arg-type]
    _assert_cancelled(loader)
    # The same clean state for the next run: it claims and loads every row.
    record = loader.load_table("items")
    assert (record.status, record.rows_written) == ("succeeded", ROWS)


def test_a_keyboard_interrupt_raised_in_a_run_is_recorded_as_cancelled(
    loader: DataLoader,
) -> None:
    def interrupt() -> None:
        raise KeyboardInterrupt

    progress = _interrupt_after_first_batch(interrupt)
    with pytest.raises(KeyboardInterrupt):
        loader.load_table("items", progress=progress,  # type: ignore[arg-type]
                          cancel=CancelToken())
    _assert_cancelled(loader)


def test_a_token_cancels_load_tables_from_another_thread(
    loader: DataLoader, caplog: pytest.LogCaptureFixture
) -> None:
    token = CancelToken()
    progress = _interrupt_after_first_batch(lambda: token.cancel("test"))
    records = loader.load_tables(["items"], progress=progress,  # type: ignore[arg-type]
                                 cancel=token)
    assert [r.status for r in records] == ["cancelled"]
    # The abandoned source stream was closed in the worker thread: nothing is left for
    # the garbage collector to close in this one (sqlite3 refused, SQLAlchemy logged).
    del records
    gc.collect()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    _assert_cancelled(loader)
    # A cancelled token starts nothing more: no claim, no history row.
    assert loader.load_tables(["items"], cancel=token) == []
    assert len(_control(loader)[1]) == 1


# -- stale leases and unlock ------------------------------------------------------------------


def _dead_pid() -> int:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    return int(child.stdout)


def _hold_lease(dl: DataLoader, owner: str) -> None:
    path = str(dl.store._target.url.database)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE table_control SET status = 'running', lease_owner = ?, "
                     "lease_expires_at = '2999-01-01 00:00:00.000000' WHERE name = 'items'",
                     (owner,))
    conn.close()


def test_owner_is_gone_only_for_a_dead_pid_on_this_host() -> None:
    host = local_host()
    assert owner_is_gone(f"{host}:{_dead_pid()}:1")
    # Same host name, other (or unknown) pid namespace: another container's pid space.
    assert not owner_is_gone(f"{socket.gethostname()}/1:{_dead_pid()}:1")
    if host != socket.gethostname():
        assert not owner_is_gone(f"{socket.gethostname()}:{_dead_pid()}:1")
    assert not owner_is_gone(f"{host}:{os.getppid()}:1")  # alive
    assert not owner_is_gone(f"{host}:{os.getpid()}:1")  # ourselves
    assert not owner_is_gone(f"elsewhere-{uuid.uuid4().hex}:{_dead_pid()}:1")
    assert not owner_is_gone("dagster-run-42")
    assert not owner_is_gone(None)


def test_the_lease_of_a_dead_process_on_this_host_is_taken_over(loader: DataLoader) -> None:
    _hold_lease(loader, f"{local_host()}:{_dead_pid()}:140000")
    record = loader.load_table("items")
    assert (record.status, record.rows_written) == ("succeeded", ROWS)


def test_a_live_lease_is_refused_and_unlock_releases_it(loader: DataLoader) -> None:
    _hold_lease(loader, "other-host:123:1")
    with pytest.raises(LeaseError, match="dataloader tables unlock items"):
        loader.load_table("items")
    with pytest.raises(StateError, match="tables unlock items"):
        loader.reset_table("items", actor="t")
    after = loader.store.unlock("items", actor="ops", reason="VM deleted")
    assert (after.status, after.lease_owner) == ("cancelled", None)
    entry = loader.store.audit_log("items", limit=1)[0]
    assert (entry.action, entry.actor) == ("status", "ops")
    assert entry.before is not None and entry.before["lease_owner"] == "other-host:123:1"
    assert entry.after is not None and entry.after["status"] == "cancelled"
    with pytest.raises(StateError, match="not running"):
        loader.store.unlock("items", actor="ops", reason="again")
    assert loader.load_table("items").status == "succeeded"


# -- the commit's row count and orphan files ---------------------------------------------------


def test_the_commit_metadata_holds_the_real_row_count(loader: DataLoader) -> None:
    loader.load_table("items")
    history = DeltaTable(loader.engine.uri(TARGET)).history(1)  # type: ignore[attr-defined]
    assert history[0]["dataloader.rows"] == str(ROWS)


def _commit(version: int) -> CommitInfo:
    return CommitInfo(app_id="app", txn_version=version, run_id="r", table_id=1, table="t",
                      strategy="rolling", state_after=TableState())


def _ints(values: list[int]) -> pa.RecordBatchReader:
    table = pa.table({"a": pa.array(values, pa.int64())})
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=50_000))


def _data_files(uri: str) -> set[str]:
    return {p.name for p in Path(uri).rglob("*.parquet") if "_delta_log" not in p.parts}


def test_a_write_failing_before_its_commit_leaves_no_orphan_files(
    loader: DataLoader, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small files, so delta-rs has closed several before it meets the bad row.
    monkeypatch.setattr("dataloader_sdk.engines.delta_rs.tuning.TARGET_FILE_SIZE", 256 * 1024)
    engine = loader.engine
    engine.write(TARGET, _ints([1, 2, 3]), ReplaceWhere((Compare(Column("a"), ">=", 0),)),
                 _commit(1))
    uri = engine.uri(TARGET)  # type: ignore[attr-defined]
    before = _data_files(uri)
    # delta-rs writes the files, then refuses the last row (outside the predicate).
    rows = [random.randrange(1_000, 2**62) for _ in range(300_000)] + [5]
    with pytest.raises(DestinationError, match=r"validation|predicate|invalid"):
        engine.write(TARGET, _ints(rows), ReplaceWhere((Compare(Column("a"), ">=", 1_000),)),
                     _commit(2))
    assert _data_files(uri) == before
    assert DeltaTable(uri).version() == 0


# -- migration 0006 -----------------------------------------------------------------------------


def test_migration_0006_downgrade_rewrites_cancelled_for_older_versions(
    loader: DataLoader,
) -> None:
    from alembic import command

    from dataloader_sdk.control.migrate import alembic_config

    token = CancelToken()
    progress = _interrupt_after_first_batch(lambda: token.cancel("test"))
    loader.load_tables(["items"], progress=progress, cancel=token)  # type: ignore[arg-type]
    assert _control(loader)[0][0] == "cancelled"
    engine = loader.store._engine
    config = alembic_config(None)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0005_promotions")
    table, runs = _control(loader)
    assert table[0] == "idle"
    assert [r[:2] for r in runs] == [("failed", "LoadCancelledError")]

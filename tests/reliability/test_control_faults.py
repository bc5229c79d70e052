"""Control-database faults at every store call of a run (issue #9, findings 3, 4 and 6).

Faults are injected below SQLAlchemy, in the DBAPI call itself (the ``do_execute`` hook
raises the driver's own ``OperationalError``), so the store sees exactly what a dropped
connection or a failing disk gives it. For every statement a run issues, the run is
repeated with a fault there, then healed, and the Delta table is checked against the
source read with raw sqlite3: nothing lost, nothing duplicated, no raw driver exception,
and the table loadable again within one lease + one retry interval.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from dataloader_sdk.cli import main
from dataloader_sdk.control.resilience import ControlRetry
from dataloader_sdk.control.store import ControlStore
from dataloader_sdk.errors import ControlStoreUnavailableError, DataLoaderError, LeaseError
from dataloader_sdk.lease import LeaseHeartbeat
from dataloader_sdk.loader import DataLoader
from tests.reliability._home import (
    Clock,
    make_source,
    open_loader,
    register,
    source_ids,
    target_ids,
)

LEASE = 30
RETRY_DELAY = 60


class Faults:
    """Counts the control DB's statements and fails the chosen ones."""

    def __init__(self, engine: sa.Engine) -> None:
        self.statements = 0
        self.fail_from: int | None = None
        self.fail_count = 0
        self.injected = 0
        sa.event.listen(engine, "do_execute", self._do_execute)

    def _do_execute(self, cursor: Any, statement: str, parameters: Any, context: Any) -> None:
        self.statements += 1
        if self.fail_from is not None and self.statements >= self.fail_from and \
                self.injected < self.fail_count:
            self.injected += 1
            raise sqlite3.OperationalError("disk I/O error (injected)")

    def arm(self, at: int, count: int) -> None:
        self.statements, self.fail_from, self.fail_count, self.injected = 0, at, count, 0

    def disarm(self) -> None:
        self.fail_from = None


def _store_engine(loader: DataLoader) -> sa.Engine:
    return loader.store._engine  # the store's own engine: the faults go below it


@contextmanager
def _loader(tmp_path: Path, clock: Clock) -> Iterator[tuple[DataLoader, Faults, Path]]:
    source = tmp_path / "src.db"
    make_source(source, range(1, 21))
    loader = open_loader(tmp_path / "home", clock=clock, lease_seconds=LEASE, store_kwargs={
        "retry_delay_seconds": RETRY_DELAY, "max_retries": 50,
    })
    # Quick retries: the test injects many faults and must not sleep for long.
    loader.store.control_retry = ControlRetry(attempts=3, first_delay=0.001, max_delay=0.005)
    register(loader, source, strategy="incremental",
             options={"watermark_column": "seq", "primary_keys": ["id"]})
    faults = Faults(_store_engine(loader))
    try:
        yield loader, faults, source
    finally:
        loader.close()


def _statements_of_one_run(tmp_path: Path) -> int:
    clock = Clock()
    with _loader(tmp_path / "count", clock) as (loader, faults, _):
        faults.arm(at=10**9, count=0)
        loader.load_table("orders")
        return faults.statements


def _heal_and_load(loader: DataLoader, clock: Clock) -> None:
    """After a fault: within one lease + one retry interval the table loads again."""
    clock.advance(LEASE + RETRY_DELAY + 1)
    record = loader.load_table("orders", raise_on_error=False)
    assert record.status == "succeeded", record.error_message


@pytest.mark.parametrize("count", [1, 20], ids=["blip", "outage"])
def test_a_fault_at_every_control_call_loses_and_duplicates_nothing(
    tmp_path: Path, count: int
) -> None:
    total = _statements_of_one_run(tmp_path)
    assert total >= 8  # claim, history, state, finish, ... (the sweep must mean something)
    for at in range(1, total + 1):
        clock = Clock()
        with _loader(tmp_path / f"{count}-{at}", clock) as (loader, faults, source):
            loader.load_table("orders")  # a first load, so the faulty run has a watermark
            make_source(source, range(21, 31))
            faults.arm(at=at, count=count)
            try:
                record = loader.load_table("orders", raise_on_error=False)
            except DataLoaderError:
                record = None  # the claim itself failed: refused cleanly, nothing ran
            except Exception as exc:  # pragma: no cover - the assertion's message
                pytest.fail(f"fault at statement {at}: raw {type(exc).__name__} escaped: {exc}")
            faults.disarm()
            if count == 1:
                # One failed statement is absorbed by the store's own retries.
                assert record is not None and record.status == "succeeded", (at, record)
            _heal_and_load(loader, clock)
            assert target_ids(loader) == source_ids(source), f"fault at statement {at}"
            runs = loader.store.runs("orders", limit=20)
            assert not [r for r in runs if r.status == "running"], f"orphan run, fault at {at}"


def test_heartbeat_survives_a_failing_control_db_and_stops_a_lost_lease(tmp_path: Path) -> None:
    clock = Clock()
    with _loader(tmp_path, clock) as (loader, faults, _):
        claim = loader.store.claim("orders", owner="w1", lease_seconds=LEASE, now=clock())
        beat = LeaseHeartbeat(loader.store, claim, clock, LEASE)
        faults.arm(at=1, count=100)
        assert beat.beat() is False  # before the fix the OperationalError killed the thread
        assert beat.error is None
        beat.verify()  # lease not expired yet: still ours, the run may go on
        faults.disarm()
        assert beat.beat() is True
        clock.advance(LEASE + 1)
        faults.arm(at=1, count=100)
        with pytest.raises(LeaseError, match="expired"):
            beat.verify()  # expired while the DB was unreachable: stop before committing


def test_a_lost_lease_stops_the_load_before_its_commit(tmp_path: Path) -> None:
    clock = Clock()
    with _loader(tmp_path, clock) as (loader, _faults, source):
        taken = threading.Event()
        original = loader.engine.write

        def write_after_takeover(*args: Any, **kwargs: Any) -> Any:
            # A monitor fails the table (releasing the lease) while the step is read.
            loader.store.set_status("orders", "failed", actor="monitor", reason="stuck")
            taken.set()
            return original(*args, **kwargs)

        loader.engine.write = write_after_takeover  # type: ignore[method-assign]
        record = loader.load_table("orders", raise_on_error=False)
        assert taken.is_set()
        assert record.status == "failed" and record.error_class == "LeaseError"
        assert target_ids(loader) == []  # the check at the end of the read refused the commit
        loader.engine.write = original  # type: ignore[method-assign]
        _heal_and_load(loader, clock)
        assert target_ids(loader) == source_ids(source)


def test_an_orphaned_running_history_row_is_closed_by_the_next_claim(tmp_path: Path) -> None:
    clock = Clock()
    with _loader(tmp_path, clock) as (loader, faults, _):
        original_record = loader.store.record_run

        def dead_control_db(run: Any) -> None:
            if run.status != "running":  # the run's end: the control DB goes away for good
                faults.arm(at=1, count=10**6)
            original_record(run)

        loader.store.record_run = dead_control_db  # type: ignore[method-assign]
        record = loader.load_table("orders", raise_on_error=False)
        assert record.status == "failed"
        assert record.error_class == "ControlStoreUnavailableError"
        faults.disarm()
        loader.store.record_run = original_record  # type: ignore[method-assign]
        orphan = loader.store.runs("orders")[0]
        assert orphan.status == "running"  # the run could not record its end
        _heal_and_load(loader, clock)
        closed = {r.run_id: r for r in loader.store.runs("orders")}[orphan.run_id]
        assert closed.status == "failed" and closed.error_class == "AbandonedRun"


def test_a_malformed_row_parks_only_that_table(tmp_path: Path) -> None:
    clock = Clock()
    with _loader(tmp_path, clock) as (loader, _faults, source):
        register(loader, source, name="broken", target=register_target("broken"))
        engine = _store_engine(loader)
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE table_control SET state = "
                                 "'{\"watermark\": {\"type\": \"int\"}}' WHERE name = 'broken'")
        clock.advance(120)
        records = loader.load_due()
        assert [r.table for r in records] == ["orders"]
        assert records[0].status == "succeeded"
        with engine.connect() as conn:
            status = conn.exec_driver_sql(
                "SELECT status FROM table_control WHERE name = 'broken'").scalar()
        assert status == "needs_attention"
        reasons = [a.after for a in loader.store.audit_log("broken") if a.action == "status"]
        assert reasons and "unreadable state" in str(reasons[0])
        assert [b.name for b in loader.store.broken_tables()] == ["broken"]
        home = tmp_path / "home"
    result = CliRunner().invoke(main, ["--home", str(home), "status"])
    assert result.exit_code == 0, result.output
    assert "broken" in result.output and "orders" in result.output


def register_target(name: str) -> Any:
    from dataloader_sdk.model import TargetName

    return TargetName("bronze", name)


def test_run_of_a_leased_table_exits_non_zero(tmp_path: Path) -> None:
    clock = Clock()
    with _loader(tmp_path, clock) as (loader, _faults, _source):
        from dataloader_sdk.model import utcnow

        loader.store.claim("orders", owner="elsewhere", lease_seconds=3600, now=utcnow())
        home = tmp_path / "home"
    result = CliRunner().invoke(main, ["--home", str(home), "run", "orders", "orders"])
    assert result.exit_code == 1, result.output
    assert "already running" in result.output
    assert result.output.count("already running") == 1  # the name given twice runs once


def test_a_locked_sqlite_control_db_gives_a_clear_retryable_error(tmp_path: Path) -> None:
    store = ControlStore.open(f"sqlite:///{tmp_path}/dataloader.db", busy_timeout_seconds=0.2)
    blocker = sqlite3.connect(tmp_path / "dataloader.db", isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        with pytest.raises(ControlStoreUnavailableError, match="locked by another process") as info:
            store.list_tables()
        assert info.value.retryable
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        store.close()


def test_an_unreachable_control_db_is_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home = tmp_path / "home"
    home.mkdir()
    (home / "dataloader.toml").write_text(
        f'control_url = "postgresql+psycopg://nobody@127.0.0.1:{port}/control"\n')
    result = CliRunner().invoke(main, ["--home", str(home), "status"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "control database" in lines[0] and "unavailable" in lines[0]
    assert "Traceback" not in result.output

"""End to end against a real ``dagster-daemon``: sensors launch runs that load Delta tables.

One daemon, five tables on four SQLite sources, each source file read through the SDK
with a busy timeout. The test holds SQLite write locks on some source files to make
loads block (to observe them running, in parallel, and to kill one) or fail transiently,
then checks the control DB, the Dagster run history and the Delta tables (read with
``deltalake``) against the sources (read with raw ``sqlite3``).
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import TypeVar

import pytest
from dagster import DagsterInstance, RunsFilter
from dagster._core.instance.ref import InstanceRef

from dataloader_sdk import DataLoader, RunRecord
from tests.dagster.project import (
    add_sqlite_source,
    add_table,
    delta_table,
    make_home,
    make_source_db,
    source_ids,
)

pytestmark = [pytest.mark.dagster, pytest.mark.slow, pytest.mark.integration,
              pytest.mark.timeout(600)]

# Generous: on a loaded 2-core machine one run worker takes tens of seconds to start.
DEADLINE_SECONDS = 480
LEASE_SECONDS = 20
LOCATION = Path(__file__).with_name("e2e_location.py")
_T = TypeVar("_T")

DAGSTER_YAML = """\
storage:
  sqlite:
    base_dir: {base}
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 8
    dequeue_interval_seconds: 1
    dequeue_use_threads: true
    dequeue_num_workers: 4
telemetry:
  enabled: false
"""

# The test starts the code server itself: a server the daemon starts shuts down when the
# daemon's heartbeats come late, which happens on a loaded machine.
WORKSPACE_YAML = """\
load_from:
  - grpc_server:
      host: 127.0.0.1
      port: {port}
      location_name: dataloader
"""

# table → (source, source file stem, source table, target, rows)
TABLES = {
    "a.orders": ("src_a", "a", "orders", "bronze.a_orders", 40),
    "a.items": ("src_a", "a", "items", "bronze.a_items", 12),
    "b.customers": ("src_b", "b", "customers", "bronze.b_customers", 25),
    "f.events": ("src_flaky", "f", "events", "bronze.f_events", 15),
    "p.gone": ("src_perm", "p", "gone", "bronze.p_gone", 0),
}


@contextmanager
def write_lock(path: Path) -> Iterator[Callable[[], None]]:
    """Hold an exclusive SQLite lock on ``path``: readers block (busy timeout), then fail."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    released = False

    def release() -> None:
        nonlocal released
        if not released:
            conn.execute("ROLLBACK")
            released = True

    try:
        yield release
    finally:
        release()
        conn.close()


def wait_for(what: str, check: Callable[[], _T | None], deadline: float,
             daemon: subprocess.Popen[bytes], log: Path) -> _T:
    """Poll ``check`` until it returns a truthy value; fail at ``deadline``."""
    while True:
        value = check()
        if value:
            return value
        if daemon.poll() is not None:
            pytest.fail(f"{daemon.args!r} exited ({daemon.returncode}) while waiting for "
                        f"{what}:\n{log.read_text()[-4000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; daemon log tail:\n"
                        f"{log.read_text()[-4000:]}")
        time.sleep(0.25)


@pytest.fixture
def e2e(tmp_path: Path) -> Iterator[tuple[DataLoader, dict[str, Path], Path]]:
    home = tmp_path / "home"
    settings = make_home(home)
    loader = DataLoader.from_settings(settings)
    files: dict[str, Path] = {}
    for name, (source, stem, table, target, rows) in TABLES.items():
        path = files.setdefault(stem, tmp_path / f"{stem}.db")
        if rows:
            make_source_db(path, {table: rows})
        elif not path.exists():
            make_source_db(path, {"other": 1})  # the configured table does not exist
        if source not in {s.name for s in loader.store.list_sources()}:
            # src_flaky fails fast while locked; the others wait on the lock until the
            # test releases it.
            add_sqlite_source(loader, source, path,
                              timeout=0.2 if source == "src_flaky" else 900)
        add_table(loader, name, source, table, target)
    try:
        yield loader, files, home
    finally:
        loader.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _runs(loader: DataLoader, name: str) -> list[RunRecord]:
    return loader.store.runs(name, limit=50)


def _pid(owner: str | None) -> int | None:
    # Lease owners are "host:pid:thread" (DataLoader.worker_id + thread).
    parts = (owner or "").split(":")
    return int(parts[1]) if len(parts) >= 3 and parts[1].isdigit() else None


def test_daemon_drives_loads_retries_and_recovery(
    e2e: tuple[DataLoader, dict[str, Path], Path], tmp_path: Path
) -> None:
    with ExitStack() as stack:
        _scenario(stack, *e2e, tmp_path)


def _scenario(stack: ExitStack, loader: DataLoader, files: dict[str, Path], home: Path,
              tmp_path: Path) -> None:
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text(DAGSTER_YAML.format(base=dagster_home / "storage"))
    port = _free_port()
    (tmp_path / "workspace.yaml").write_text(WORKSPACE_YAML.format(port=port))
    instance = stack.enter_context(
        DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home))))
    # src_a's loads run one at a time. Other pools are unlimited: the run killed below
    # keeps its slot (the default run launcher has no worker health check to free it).
    instance.event_log_storage.set_concurrency_slots("dataloader/src_a", 1)
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "DATALOADER_HOME": str(home),
           "DL_E2E_LEASE_SECONDS": str(LEASE_SECONDS),
           # Dagster's gRPC calls time out after 60 s; a starved machine can need more.
           "DAGSTER_GRPC_TIMEOUT_SECONDS": "300", "DAGSTER_SENSOR_GRPC_TIMEOUT_SECONDS": "300"}
    log = tmp_path / "daemon.log"
    daemon_bin = Path(sys.executable).with_name("dagster-daemon")
    dagster_bin = Path(sys.executable).with_name("dagster")
    store = loader.store
    deadline = time.monotonic() + DEADLINE_SECONDS
    with write_lock(files["a"]) as release_a, write_lock(files["b"]) as release_b, \
            write_lock(files["f"]) as release_f, open(log, "wb") as out:
        started: list[subprocess.Popen[bytes]] = []
        try:
            server = subprocess.Popen(
                [str(dagster_bin), "api", "grpc", "--python-file", str(LOCATION),
                 "--host", "127.0.0.1", "--port", str(port), "--location-name", "dataloader"],
                cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            started.append(server)
            wait_for("the code server to listen", lambda: _listening(port), deadline, server, log)
            daemon = subprocess.Popen(
                [str(daemon_bin), "run", "-w", str(tmp_path / "workspace.yaml")],
                cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            started.append(daemon)

            def status(name: str) -> str:
                return store.get_table(name).status

            # Tables of two sources run at once (both blocked on their source's lock);
            # src_a's two tables never do (its pool has one slot).
            def parallel() -> tuple[str, str] | None:
                running = [t.name for t in store.list_tables() if t.status == "running"]
                a_running = [n for n in running if n.startswith("a.")]
                assert len(a_running) <= 1, f"src_a pool exceeded: {running}"
                if a_running and "b.customers" in running:
                    return a_running[0], "b.customers"
                return None

            a_table, _ = wait_for("an src_a table and b.customers running together",
                                  parallel, deadline, daemon, log)

            # SIGKILL the run worker holding b.customers, then let the sources go.
            victim = _pid(store.get_table("b.customers").lease_owner)
            assert victim is not None
            os.kill(victim, signal.SIGKILL)
            release_b()
            release_a()

            # The flaky source failed transiently while locked; bring it back.
            def flaky_failed() -> bool:
                return any(r.status == "failed" and r.error_class == "SourceTransientError"
                           for r in _runs(loader, "f.events"))

            wait_for("f.events to fail transiently", flaky_failed, deadline, daemon, log)
            release_f()

            done = ("a.orders", "a.items", "b.customers", "f.events")

            def settled() -> bool:
                return (all(status(n) == "succeeded" for n in done)
                        and status("p.gone") == "needs_attention")

            wait_for("every table settled", settled, deadline, daemon, log)
            # A few more master ticks: the needs_attention table is never launched again.
            settled_at = time.monotonic()
            wait_for("three more sensor intervals", lambda: time.monotonic() - settled_at > 6,
                     deadline, daemon, log)
        finally:
            # Each process leads its own group; run workers are in the code server's.
            for process in started:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)

    # Control DB: the killed run was failed as stalled, retried and succeeded.
    b_runs = _runs(loader, "b.customers")
    assert [r.status for r in b_runs][:1] == ["succeeded"]
    assert any(r.status == "failed" and r.error_class == "stalled" for r in b_runs), b_runs
    f_runs = _runs(loader, "f.events")
    assert f_runs[0].status == "succeeded"
    p_runs = _runs(loader, "p.gone")
    assert [(r.status, r.error_class) for r in p_runs] == [("failed", "SourcePermanentError")]
    # Every succeeded run carries its Dagster run id.
    dagster_ids = {r.dagster_run.run_id for r in instance.get_run_records()}
    for name in ("a.orders", "a.items", "b.customers", "f.events"):
        assert _runs(loader, name)[0].orchestrator_run_id in dagster_ids
    # Dagster history: exactly one run ever launched for the permanent failure.
    p_launches = instance.get_run_records(filters=RunsFilter(tags={"dataloader/table": "p.gone"}))
    assert len(p_launches) == 1
    # Dagster history: the first runs of two sources overlapped in time.
    def first_run(name: str) -> tuple[float, float]:
        records = instance.get_run_records(filters=RunsFilter(tags={"dataloader/table": name}))
        first = min(records, key=lambda r: r.create_timestamp)
        # The killed run never reports an end to Dagster: it is still "started" there.
        return first.start_time or 0.0, first.end_time or float("inf")

    a_start, a_end = first_run(a_table)
    b_start, b_end = first_run("b.customers")
    assert a_start < b_end and b_start < a_end, (a_start, a_end, b_start, b_end)
    # Delta holds exactly the source rows: nothing lost, nothing duplicated.
    for name, (_source, stem, table, target, rows) in TABLES.items():
        if not rows:
            continue
        data = delta_table(home / ".dataloader" / "delta", target).to_pyarrow_table()
        assert sorted(data.column("id").to_pylist()) == source_ids(files[stem], table), name


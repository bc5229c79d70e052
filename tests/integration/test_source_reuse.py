"""Connector reuse within a batch (connectors/pool.py), seen from the PostgreSQL server.

The sessions a batch opens are counted on the server: ``pg_stat_activity`` rows of the
source's own ``application_name``, sampled with psycopg from the runs' progress callbacks
(while each run's connector is open), never through the code under test. The data is
compared with the source read by psycopg, and broken sessions are made by
``pg_terminate_backend``.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dataloader_sdk.connectors.pool import SourcePool
from dataloader_sdk.connectors.postgresql.read import shared_databases
from dataloader_sdk.loader import DataLoader, ProgressUpdate
from dataloader_sdk.model import SourceConfig, TargetName
from tests.integration._tables import incremental_tables
from tests.servers.postgres import PostgresServer

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

TABLES = 8
#: Server sessions one PostgreSQL connector opens: psycopg, ADBC's type-catalog load, ADBC.
PER_CONNECTOR = 3


def _setup(loader: DataLoader, source: SourceConfig, server: PostgresServer, db: str,
           tables: int = TABLES) -> list[str]:
    return incremental_tables(loader, source, server, db, prefix="t", tables=tables, rows=50)


def _app_source(source: SourceConfig) -> SourceConfig:
    """The source with an application_name no other session of the test server uses."""
    return replace(source, options={"application_name": "reuse-" + uuid.uuid4().hex[:8]})


class Sessions:
    """Distinct server sessions (pid, start time) of one application_name, sampled."""

    def __init__(self, server: PostgresServer, db: str, app: str) -> None:
        self._conn = psycopg.connect(server.dsn(db), autocommit=True)
        self._app = app
        self._lock = threading.Lock()
        self.seen: set[tuple[int, Any]] = set()

    def live(self) -> set[tuple[int, Any]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT pid, backend_start FROM pg_stat_activity WHERE application_name = %s",
                (self._app,)).fetchall()
        return {(int(pid), start) for pid, start in rows}

    def sample(self, update: ProgressUpdate) -> None:
        if update.phase in ("planned", "reading", "finished"):
            live = self.live()
            with self._lock:
                self.seen |= live

    def terminate(self) -> int:
        """End every session of the application; wait (with a deadline) until gone."""
        with self._lock:
            killed = self._conn.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
                "FROM pg_stat_activity WHERE application_name = %s", (self._app,)).fetchone()
        self.wait_gone()
        return int(killed[0]) if killed else 0

    def wait_gone(self) -> None:
        """Wait (10 s deadline) until no session of the application is left.

        A backend whose client closed the socket exits a moment later, so closed
        sessions are polled for, not expected gone at once.
        """
        deadline = time.monotonic() + 10
        while live := self.live():
            assert time.monotonic() < deadline, f"sessions still open: {sorted(live)}"
            time.sleep(0.01)

    def close(self) -> None:
        self._conn.close()


def _source_rows(server: PostgresServer, db: str, table: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(server.dsn(db)) as conn:
        return [tuple(r) for r in conn.execute(
            f"SELECT id, v, updated_at FROM {table} ORDER BY id").fetchall()]


def _target_rows(loader: DataLoader, table: str) -> list[tuple[Any, ...]]:
    data = loader.engine.read(TargetName("bronze", table)).sort_by("id")
    return list(zip(data["id"].to_pylist(), data["v"].to_pylist(),
                    data["updated_at"].to_pylist(), strict=True))


def test_a_batch_opens_at_most_per_source_limit_connectors(
    loader: DataLoader, pg_source: SourceConfig, pg_server: PostgresServer, pg_database: str,
) -> None:
    source = _app_source(pg_source)
    names = _setup(loader, source, pg_server, pg_database)
    sessions = Sessions(pg_server, pg_database, source.options["application_name"])
    databases = shared_databases().open_count()
    try:
        records = loader.load_tables(names, max_workers=4, per_source_limit=2,
                                     progress=sessions.sample)
        assert [r.status for r in records] == ["succeeded"] * TABLES
        # Two connectors at most (per_source_limit), each with a psycopg session for
        # metadata and probes, an ADBC session for reads, and the short session in which
        # ADBC loads the type catalog once per database (one, shared by both).
        assert 2 <= len(sessions.seen) <= 2 * PER_CONNECTOR, sorted(sessions.seen)
        sessions.wait_gone()  # the pool closed them at the end of the batch
        assert shared_databases().open_count() == databases  # and its ADBC database
        for name in names:
            assert _target_rows(loader, name) == _source_rows(pg_server, pg_database, name)

        # The unchanged second batch reuses its connectors the same way. Its sweep
        # reads the boundary rows through the psycopg session (read_together), so it
        # may need no ADBC session at all: one session at least, never more than before.
        sessions.seen.clear()
        again = loader.load_tables(names, max_workers=4, per_source_limit=2,
                                   progress=sessions.sample)
        assert [r.steps_committed for r in again] == [0] * TABLES
        assert 1 <= len(sessions.seen) <= 2 * PER_CONNECTOR, sorted(sessions.seen)

        # Control: table by table (no batch, no pool) every run opens its own sessions,
        # so the sampling above does see connections being opened.
        sessions.seen.clear()
        for name in names:
            loader.load_table(name, progress=sessions.sample)
        assert len(sessions.seen) >= TABLES
        sessions.wait_gone()
    finally:
        sessions.close()


def test_sessions_killed_mid_batch_are_replaced_and_nothing_is_lost(
    loader: DataLoader, pg_source: SourceConfig, pg_server: PostgresServer, pg_database: str,
) -> None:
    source = _app_source(pg_source)
    names = _setup(loader, source, pg_server, pg_database)
    sessions = Sessions(pg_server, pg_database, source.options["application_name"])
    kills: list[tuple[str, str, int]] = []

    def progress(update: ProgressUpdate) -> None:
        sessions.sample(update)
        # The kept (idle) sessions, between two tables of the batch ...
        if update.table == "t2" and update.phase == "finished":
            kills.append((update.table, update.phase, sessions.terminate()))
        # ... and the sessions of a running table, after its probes, before its read.
        if update.table == "t5" and update.phase == "reading" and update.rows == 0:
            kills.append((update.table, update.phase, sessions.terminate()))

    try:
        # One worker: the tables run in order on one connector, so each kill hits
        # sessions the next statements were going to reuse.
        records = loader.load_tables(names, max_workers=1, per_source_limit=1,
                                     progress=progress)
        assert [k[:2] for k in kills] == [("t2", "finished"), ("t5", "reading")]
        assert all(k[2] >= 1 for k in kills), kills  # sessions were really there to kill
        assert [(r.table, r.status) for r in records] == [(n, "succeeded") for n in names]
        for name in names:
            assert _target_rows(loader, name) == _source_rows(pg_server, pg_database, name)
        # Each kill made the pool's connector open new sessions (replaced, not reused).
        assert len(sessions.seen) >= 4, sorted(sessions.seen)
        sessions.wait_gone()
    finally:
        sessions.close()


def test_a_failed_run_discards_its_connector(
    loader: DataLoader, pg_source: SourceConfig, pg_server: PostgresServer, pg_database: str,
    tmp_path: Path,
) -> None:
    source = _app_source(pg_source)
    names = _setup(loader, source, pg_server, pg_database, tables=3)
    with psycopg.connect(pg_server.dsn(pg_database), autocommit=True) as conn:
        conn.execute("DROP TABLE t1")  # t1's run fails (permanent: no such table)
    sessions = Sessions(pg_server, pg_database, source.options["application_name"])
    try:
        with SourcePool(1) as pool:
            outcomes = [loader.run_claim(loader._claim(n), sources=pool, raise_on_error=False,
                                         progress=sessions.sample) for n in names]
            assert [r.status for r in outcomes] == ["succeeded", "failed", "succeeded"]
            assert "t1" in (outcomes[1].error_message or "")
            # The pool kept one connector (t2's); t1's failure closed the one t0 and t1
            # had used, so t2 started on new sessions.
            assert len(sessions.live()) <= 2
        sessions.wait_gone()
        assert len(sessions.seen) >= 3, sorted(sessions.seen)
    finally:
        sessions.close()

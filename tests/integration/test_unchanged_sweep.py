"""A batch's unchanged sweep (``unchanged_sweep.py``) against PostgreSQL and local Delta.

The source is changed and read with psycopg, the targets with deltalake: never through
the code under test. A batch must record the unchanged tables' runs without a commit and
without a run of their own, and load every change the usual run would load: a row tied
with the watermark, a row changed at the watermark without a new cursor, a row with a new
cursor. A table the sweep cannot decide (gone from the source) fails in its usual run.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from deltalake import DeltaTable

from dataloader_sdk.loader import DataLoader
from dataloader_sdk.model import SourceConfig, TargetName
from tests.integration._tables import incremental_tables
from tests.servers.postgres import PostgresServer

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

SWEEP_LOG = "dataloader_sdk.unchanged_sweep"


def _setup(loader: DataLoader, source: SourceConfig, server: PostgresServer, db: str,
           tables: int) -> list[str]:
    return incremental_tables(loader, source, server, db, prefix="s", tables=tables,
                              rows=20, interval_seconds=300)


def _source(server: PostgresServer, db: str, name: str) -> set[tuple[Any, ...]]:
    with psycopg.connect(server.dsn(db)) as conn:
        return set(conn.execute(f"SELECT id, v, updated_at FROM {name}").fetchall())


def _target(loader: DataLoader, name: str) -> tuple[int, set[tuple[Any, ...]]]:
    table = DeltaTable(loader.engine.uri(TargetName("bronze", name)))  # type: ignore[attr-defined]
    rows = table.to_pyarrow_table(columns=["id", "v", "updated_at"]).to_pylist()
    return table.version(), {(r["id"], r["v"], r["updated_at"]) for r in rows}


def _swept(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == SWEEP_LOG
            and "unchanged, their runs recorded together" in r.getMessage()]


def test_a_batch_records_unchanged_tables_together_and_loads_every_change(
    loader: DataLoader, pg_source: SourceConfig, pg_server: PostgresServer, pg_database: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    names = _setup(loader, pg_source, pg_server, pg_database, tables=6)
    assert {r.status for r in loader.load_tables(names)} == {"succeeded"}
    versions = {name: _target(loader, name)[0] for name in names}
    before = {t.name: t for t in loader.store.get_tables(names)}

    phases: list[tuple[str, str]] = []
    with caplog.at_level(logging.INFO, logger=SWEEP_LOG):
        records = loader.load_tables(names, progress=lambda u: phases.append((u.table, u.phase)))
    assert _swept(caplog) == ["unchanged sweep: 6 of 6 table(s) unchanged, their runs "
                              "recorded together (6 boundary read(s) together)"]
    for record in records:
        assert (record.status, record.steps_committed, record.rows_written) == (
            "succeeded", 0, 0), record
        assert record.rows_read == 1 and "nothing changed" in record.note, record
        assert _target(loader, record.table)[0] == versions[record.table]  # no commit
        # Each progress consumer still sees the run start and end.
        assert [p for t, p in phases if t == record.table] == ["claimed", "finished"]
    by_table = {r.table: r for r in records}
    for table in loader.store.get_tables(names):
        was = before[table.name]
        assert table.run_generation == was.run_generation + 1 and table.state == was.state
        assert table.status == "succeeded" and table.lease_owner is None
        assert table.next_run_at is not None and table.last_run_at is not None
        assert table.next_run_at - table.last_run_at == timedelta(seconds=300)
        newest = loader.store.runs(table.name, limit=1)
        assert [r.run_id for r in newest] == [by_table[table.name].run_id]

    # Changes at the watermark that only the boundary read can see, a new cursor, a
    # table gone from the source, and two tables left alone.
    with psycopg.connect(pg_server.dsn(pg_database), autocommit=True) as conn:
        conn.execute("INSERT INTO s0 SELECT 1000, 'tie', max(updated_at) FROM s0")
        conn.execute("UPDATE s1 SET v = 'same cursor' "
                     "WHERE updated_at = (SELECT max(updated_at) FROM s1)")
        conn.execute("UPDATE s2 SET v = 'moved', updated_at = now() WHERE id = 3")
        conn.execute("DROP TABLE s3")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=SWEEP_LOG):
        records = loader.load_tables(names)
    by_name = {r.table: r for r in records}
    assert _swept(caplog) == ["unchanged sweep: 2 of 6 table(s) unchanged, their runs "
                              "recorded together (4 boundary read(s) together)"]
    for name in ("s0", "s1", "s2"):
        assert (by_name[name].status, by_name[name].steps_committed) == ("succeeded", 1)
        version, rows = _target(loader, name)
        assert version == versions[name] + 1
        assert rows == _source(pg_server, pg_database, name)
    assert by_name["s3"].status == "failed" and "s3" in (by_name["s3"].error_message or "")
    for name in ("s4", "s5"):
        assert by_name[name].steps_committed == 0 and "nothing changed" in by_name[name].note
        assert _target(loader, name) == (versions[name], _source(pg_server, pg_database,
                                                                   name))


def test_load_due_settles_its_claims_and_a_failing_source_leaves_the_usual_runs(
    loader: DataLoader, pg_source: SourceConfig, pg_server: PostgresServer, pg_database: str,
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = _setup(loader, pg_source, pg_server, pg_database, tables=3)
    assert {r.status for r in loader.load_tables(names)} == {"succeeded"}
    for name in names:  # due now
        loader.store.set_status(name, "queued", actor="test", reason="due")
    with caplog.at_level(logging.INFO, logger=SWEEP_LOG):
        records = loader.load_due()
    assert sorted(r.table for r in records) == names
    assert all(r.steps_committed == 0 and r.status == "succeeded" for r in records)
    assert _swept(caplog) == ["unchanged sweep: 3 of 3 table(s) unchanged, their runs "
                              "recorded together (3 boundary read(s) together)"]
    assert {(t.status, t.lease_owner) for t in loader.store.get_tables(names)} == {
        ("succeeded", None)}

    # The source's secret now fails: the sweep decides nothing and says nothing secret;
    # each table's own run fails with its error recorded.
    monkeypatch.setenv("DL_TEST_PG_PASSWORD", "wrong-" + pg_server.password)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=SWEEP_LOG):
        records = loader.load_tables(names)
    assert {r.status for r in records} == {"failed"}
    assert not _swept(caplog)
    assert [r.getMessage() for r in caplog.records if r.name == SWEEP_LOG] == [
        "unchanged sweep: source 'pg' stopped at SourcePermanentError; its remaining "
        "tables run as usual"]
    assert all(pg_server.password not in r.getMessage() for r in caplog.records)
    assert all(r.error_message and "pg" in r.error_message for r in records)


def test_a_big_source_is_swept_in_parts_on_the_batchs_workers(
    loader: DataLoader, pg_source: SourceConfig, pg_server: PostgresServer, pg_database: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """40 tables, two workers: two parts of 20, swept at once on the batch's threads; a
    change in the second part still loads."""
    names = _setup(loader, pg_source, pg_server, pg_database, tables=40)
    assert {r.status for r in loader.load_tables(names, max_workers=2,
                                                 per_source_limit=2)} == {"succeeded"}
    with psycopg.connect(pg_server.dsn(pg_database), autocommit=True) as conn:
        conn.execute("INSERT INTO s37 SELECT 1000, 'tie', max(updated_at) FROM s37")
    threads: set[str] = set()
    real = loader._sweep._sweep_source  # observed: which threads swept

    def watched(*args: Any) -> Any:
        import threading

        threads.add(threading.current_thread().name)
        return real(*args)

    loader._sweep._sweep_source = watched  # type: ignore[method-assign,assignment]
    with caplog.at_level(logging.INFO, logger=SWEEP_LOG):
        records = loader.load_tables(names, max_workers=2, per_source_limit=2)
    assert len(threads) == 2 and all(t.startswith("dataloader") for t in threads), threads
    assert _swept(caplog) == ["unchanged sweep: 39 of 40 table(s) unchanged, their runs "
                              "recorded together (40 boundary read(s) together)"]
    changed = [r for r in records if r.steps_committed]
    assert [r.table for r in changed] == ["s37"]
    assert _target(loader, "s37")[1] == _source(pg_server, pg_database, "s37")

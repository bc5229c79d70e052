"""The control store on a real PostgreSQL server: both environments and concurrent claims."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from dataloader_sdk.control import Claim, ControlStore
from dataloader_sdk.control.migrate import head_revision
from dataloader_sdk.control.schema import metadata
from dataloader_sdk.errors import (
    LeaseError,
    StaleVersionError,
    UnknownNameError,
    ValidationError,
)
from dataloader_sdk.model import (
    RunRecord,
    SourceConfig,
    TableConfig,
    TableState,
    TargetName,
    Watermark,
)
from tests.servers.postgres import PostgresServer

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def url(pg_server: PostgresServer, pg_database: str) -> str:
    return pg_server.url(pg_database)


@pytest.fixture
def store(url: str) -> Iterator[ControlStore]:
    s = ControlStore.open(url)
    yield s
    s.close()


def _table(name: str, **kw: object) -> TableConfig:
    return TableConfig(name, "pg", TargetName.parse(f"bronze.{name}"),
                       source_table=name, interval_seconds=60, **kw)  # type: ignore[arg-type]


def test_migrations_create_both_schemas(url: str) -> None:
    for env in ("dataloader", "dataloader_test"):
        ControlStore.open(url, env).close()
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            insp = sa.inspect(conn)
            for schema in ("dataloader", "dataloader_test"):
                assert {"table_control_dbconfig", "table_control", "historical_metadata",
                        "table_control_history", "alembic_version"} <= set(
                    insp.get_table_names(schema=schema))
                ctx = MigrationContext.configure(conn, opts={"version_table_schema": schema})
                assert ctx.get_current_revision() == head_revision()
            assert "alembic_version" not in insp.get_table_names(schema="public")
            # Reflection ignores schema_translate_map; compare with the schema as default.
            conn.exec_driver_sql("SET search_path TO dataloader")
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
            conn.rollback()
    finally:
        engine.dispose()


def test_upgrade_idempotent_and_open_without_upgrade(store: ControlStore, url: str) -> None:
    store.add_source(SourceConfig("pg", "postgresql", secret="env:PW"), actor="a")
    store.upgrade()
    again = ControlStore.open(url, upgrade=False)
    try:
        assert [s.name for s in again.list_sources()] == ["pg"]
    finally:
        again.close()


def test_environments_are_separate_schemas(url: str) -> None:
    prod = ControlStore.open(url, "dataloader")
    test = ControlStore.open(url, "dataloader_test")
    try:
        prod.add_source(SourceConfig("pg", "postgresql"), actor="a")
        test.add_source(SourceConfig("pg", "postgresql", host="preprod"), actor="a")
        prod.add_table(_table("orders"), actor="a")
        assert [t.name for t in prod.list_tables()] == ["orders"]
        assert test.list_tables() == []
        assert test.get_source("pg").host == "preprod"
        assert prod.audit_log()[0].environment == "dataloader"
        assert test.audit_log()[0].environment == "dataloader_test"
    finally:
        prod.close()
        test.close()


def test_basics_on_postgres(store: ControlStore) -> None:
    store.add_source(SourceConfig("pg", "postgresql", port=5432, secret="env:PW",
                                  options={"sslmode": "require"}), actor="alice")
    rec = store.add_table(_table("orders", strategy_options={"primary_keys": ["id"]}),
                          actor="alice")
    assert rec.status == "idle"
    assert rec.version == 1
    with pytest.raises(ValidationError):
        store.add_table(_table("bad", priority="x"), actor="a")
    with pytest.raises(UnknownNameError, match="registered: orders"):
        store.get_table("nope")
    store.update_table(_table("orders", priority=1), expected_version=1, actor="bob")
    with pytest.raises(StaleVersionError, match="current version is 2"):
        store.update_table(_table("orders", priority=2), expected_version=1, actor="bob")

    assert store.enqueue_due(now=T0) == ["orders"]
    (c,) = store.claim_due(owner="w", limit=5, lease_seconds=60, now=T0)
    assert c.table.lease_expires_at == T0 + timedelta(seconds=60)
    assert c.table.lease_expires_at is not None
    assert c.table.lease_expires_at.tzinfo == timezone.utc
    store.save_state(c, TableState(watermark=Watermark.of(T0), txn_version=1))
    done = store.finish(c, status="succeeded", now=T0)
    assert done.state.watermark == Watermark.of(T0)
    assert done.next_run_at == T0 + timedelta(seconds=60)

    run = RunRecord("r1", rec.table_id, "orders", "full", "delta_rs", "succeeded",
                    started_at=T0, finished_at=T0 + timedelta(seconds=1), rows_read=3,
                    rows_written=3, watermark_after=Watermark.of(T0))
    store.record_run(run)
    store.record_run(run)
    assert store.runs("orders") == [run]
    assert store.reset_state("orders", actor="ops").state == TableState()
    actions = [e.action for e in store.audit_log("orders")]
    assert actions == ["state_reset", "update", "create"]


def _claim_all(url: str, owners: int, limit: int) -> list[str]:
    """``owners`` threads, each with its own store, claim until nothing is queued."""
    stores = [ControlStore.open(url, upgrade=False) for _ in range(owners)]
    claimed: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(owners)

    def work(store: ControlStore, owner: str) -> None:
        try:
            barrier.wait()
            while True:
                claims = store.claim_due(owner=owner, limit=limit, lease_seconds=300, now=T0)
                if not claims:
                    return
                with lock:
                    claimed.extend(c.table.name for c in claims)
        except BaseException as exc:  # surfaced by the test below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s, f"worker-{i}"))
               for i, s in enumerate(stores)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        for s in stores:
            s.close()
    assert not errors, errors
    return claimed


def test_concurrent_claim_due_claims_each_table_exactly_once(store: ControlStore,
                                                             url: str) -> None:
    store.add_source(SourceConfig("pg", "postgresql"), actor="a")
    for i in range(200):
        store.add_table(_table(f"t{i:03d}", priority=i % 7), actor="a")
    assert len(store.enqueue_due(now=T0)) == 200

    claimed = _claim_all(url, owners=8, limit=5)

    assert len(claimed) == 200
    assert len(set(claimed)) == 200, "a table was claimed twice"
    assert set(claimed) == {f"t{i:03d}" for i in range(200)}
    tables = store.list_tables()
    assert all(t.status == "running" and t.run_generation == 1 for t in tables)
    assert len({t.lease_owner for t in tables}) > 1, "work was not shared between workers"


def test_two_workers_claim_same_table_one_wins(store: ControlStore, url: str) -> None:
    store.add_source(SourceConfig("pg", "postgresql"), actor="a")
    store.add_table(_table("orders"), actor="a")
    for attempt in range(5):
        results = _race_for(url, "orders")
        wins = [r for r in results if isinstance(r, Claim)]
        losses = [r for r in results if isinstance(r, LeaseError)]
        assert len(wins) == 1, results
        assert len(losses) == 1, results
        assert f"leased by {wins[0].owner!r}" in str(losses[0])
        store.finish(wins[0], status="succeeded", now=T0 + timedelta(seconds=attempt))


def _race_for(url: str, name: str) -> list[Claim | LeaseError]:
    """Two workers, each with its own store, call ``claim(name)`` at the same moment."""
    workers = [ControlStore.open(url, upgrade=False) for _ in range(2)]
    barrier = threading.Barrier(2)
    results: list[Claim | LeaseError] = []

    def work(s: ControlStore, owner: str) -> None:
        barrier.wait()
        try:
            results.append(s.claim(name, owner=owner, lease_seconds=60, now=T0))
        except LeaseError as exc:
            results.append(exc)

    threads = [threading.Thread(target=work, args=(w, f"w{i}")) for i, w in enumerate(workers)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        for w in workers:
            w.close()
    return results


def test_unchanged_runs_are_settled_together_on_postgres(store: ControlStore) -> None:
    """The batch's one transaction on PostgreSQL: rows locked by id list, one executemany
    of updates and one of history upserts; a table claimed meanwhile is left out."""
    from dataloader_sdk.control.unchanged import UnchangedRun
    from dataloader_sdk.model import RunRecord

    store.add_source(SourceConfig("pg", "postgresql", host="db", port=5432, database="app",
                                  username="u", secret="env:PGPW"), actor="t")
    read = [store.add_table(_table(f"t{i}"), actor="t") for i in range(3)]
    store.claim("t1", owner="worker-2", lease_seconds=60, now=T0)
    items = [UnchangedRun(table, RunRecord(
        run_id=f"r{i}", table_id=table.table_id, table=table.name, strategy="full",
        engine="delta-rs", status="succeeded", started_at=T0, finished_at=T0,
        note="nothing changed")) for i, table in enumerate(read)]
    now = T0 + timedelta(seconds=1)
    assert [i.run.run_id for i in store.settle_unchanged(items, now=now)] == ["r0", "r2"]
    assert [i.run.run_id for i in store.settle_unchanged(items, now=now)] == ["r0", "r2"]
    for name in ("t0", "t2"):
        table = store.get_table(name)
        assert (table.status, table.run_generation, table.last_run_at) == ("succeeded", 1, now)
        assert [r.run_id for r in store.runs(name)] == [f"r{name[1]}"]
    assert store.get_table("t1").lease_owner == "worker-2" and not store.runs("t1")

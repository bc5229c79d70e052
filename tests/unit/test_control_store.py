"""Unit tests of the control store: every method, bad input, the state machine.

The store contract runs against both implementations of
:class:`~dataloader_sdk.control.protocol.ControlStoreProtocol`: the SQL store on SQLite
and the in-memory double of ``dataloader_sdk.testing`` (the ``store`` fixture). Tests of
what only a database has (migrations, files per environment, connections racing, the raw
database file) use ``sql_store`` and say so.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from dataloader_sdk.control import (
    TRANSITIONS,
    Claim,
    ControlStore,
    check_transition,
    is_allowed,
    resolve_environment,
)
from dataloader_sdk.control.migrate import head_revision
from dataloader_sdk.control.protocol import ControlStoreProtocol
from dataloader_sdk.control.schema import metadata
from dataloader_sdk.errors import (
    ConfigError,
    InvalidTransitionError,
    LeaseError,
    StaleVersionError,
    StateError,
    UnknownNameError,
    ValidationError,
)
from dataloader_sdk.model import (
    TABLE_STATUSES,
    RunRecord,
    SourceConfig,
    TableConfig,
    TableRecord,
    TableState,
    TableStatus,
    TargetName,
    Watermark,
)
from dataloader_sdk.testing import InMemoryControlStore

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/dataloader.db"


StoreFactory = Callable[..., ControlStoreProtocol]


@pytest.fixture(params=["sqlite", "memory"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Opens stores of one implementation (``max_retries``/``retry_delay_seconds`` as
    ``ControlStore.open``); every store it made is closed after the test."""
    made: list[ControlStoreProtocol] = []

    def make(**kw: int) -> ControlStoreProtocol:
        store: ControlStoreProtocol = (ControlStore.open(_url(tmp_path), **kw)
                                       if request.param == "sqlite"
                                       else InMemoryControlStore(**kw))
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture
def store(make_store: StoreFactory) -> ControlStoreProtocol:
    return make_store()


@pytest.fixture
def sql_store(tmp_path: Path) -> Iterator[ControlStore]:
    """The SQL store only: for tests of the database itself."""
    s = ControlStore.open(_url(tmp_path))
    yield s
    s.close()


def _src(name: str = "pg", **kw: object) -> SourceConfig:
    base: dict[str, object] = {"db_type": "postgresql", "host": "db", "port": 5432,
                               "database": "app", "username": "u", "secret": "env:PGPW"}
    base.update(kw)
    return SourceConfig(name, **base)  # type: ignore[arg-type]


def _tbl(name: str = "orders", source: str = "pg", **kw: object) -> TableConfig:
    base: dict[str, object] = {"source_table": name, "source_schema": "public",
                               "interval_seconds": 3600}
    base.update(kw)
    return TableConfig(name, source, TargetName.parse(f"bronze.{name}"), **base)  # type: ignore[arg-type]


@pytest.fixture
def loaded(store: ControlStoreProtocol) -> ControlStoreProtocol:
    store.add_source(_src(), actor="alice")
    store.add_table(_tbl(), actor="alice")
    return store


@pytest.fixture
def sql_loaded(sql_store: ControlStore) -> ControlStore:
    sql_store.add_source(_src(), actor="alice")
    sql_store.add_table(_tbl(), actor="alice")
    return sql_store


def _snapshot(store: ControlStoreProtocol) -> tuple[object, ...]:
    return (store.list_sources(), store.list_tables(), store.audit_log(limit=1000),
            store.runs(limit=1000))


# ---------------------------------------------------------------- migrations, environments


def test_migrations_create_schema_matching_metadata(sql_store: ControlStore,
                                                    tmp_path: Path) -> None:
    """SQL only: the migrations make the database schema."""
    assert sql_store.revision() == head_revision()
    engine = sa.create_engine(_url(tmp_path))
    try:
        with engine.connect() as conn:
            names = set(sa.inspect(conn).get_table_names())
            assert {"table_control_dbconfig", "table_control", "historical_metadata",
                    "table_control_history", "alembic_version"} <= names
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
            assert diff == []
    finally:
        engine.dispose()


def test_upgrade_is_idempotent_and_keeps_data(sql_loaded: ControlStore, tmp_path: Path) -> None:
    """SQL only: migrations and reopening a database."""
    before = _snapshot(sql_loaded)
    sql_loaded.upgrade()
    sql_loaded.upgrade()
    assert _snapshot(sql_loaded) == before
    again = ControlStore.open(_url(tmp_path))
    try:
        assert again.list_tables() == sql_loaded.list_tables()
    finally:
        again.close()


def test_open_without_upgrade_refuses_unmigrated_db(tmp_path: Path) -> None:
    """SQL only: migration revisions."""
    with pytest.raises(StateError, match="revision None"):
        ControlStore.open(_url(tmp_path), upgrade=False)
    ControlStore.open(_url(tmp_path)).close()
    ControlStore.open(_url(tmp_path), upgrade=False).close()


def test_environments_are_separate_files(tmp_path: Path) -> None:
    """SQL only: one database file per environment."""
    prod = ControlStore.open(_url(tmp_path), "dataloader")
    test = ControlStore.open(_url(tmp_path), "dataloader_test")
    try:
        assert prod.environment == "dataloader"
        assert test.environment == "dataloader_test"
        prod.add_source(_src("prod_only"), actor="a")
        test.add_source(_src("test_only"), actor="a")
        assert [s.name for s in prod.list_sources()] == ["prod_only"]
        assert [s.name for s in test.list_sources()] == ["test_only"]
        assert test.audit_log()[0].environment == "dataloader_test"
        assert (tmp_path / "dataloader.db").exists()
        assert (tmp_path / "dataloader_test.db").exists()
    finally:
        prod.close()
        test.close()


def test_resolve_environment() -> None:
    t = resolve_environment("sqlite:////x/y/dataloader.db", "dataloader_test")
    assert t.url.database == "/x/y/dataloader_test.db"
    assert t.schema is None
    p = resolve_environment("postgresql+psycopg://u:p@h/db", "dataloader_test")
    assert p.schema == "dataloader_test"
    assert p.url.database == "db"
    with pytest.raises(ConfigError, match="unknown control environment"):
        resolve_environment("sqlite:///x.db", "prod")
    with pytest.raises(ConfigError, match="not supported"):
        resolve_environment("mysql://h/db", "dataloader")
    with pytest.raises(ConfigError, match="could not be parsed"):
        resolve_environment("not a url", "dataloader")


def test_timestamps_read_back_tz_aware_utc(loaded: ControlStoreProtocol) -> None:
    other_zone = timezone(timedelta(hours=5))
    loaded.enqueue_due(now=T0.astimezone(other_zone))
    c = loaded.claim_due(owner="w", limit=1, lease_seconds=60, now=T0.astimezone(other_zone))[0]
    rec = loaded.get_table("orders")
    assert rec.lease_expires_at == T0 + timedelta(seconds=60)
    assert rec.lease_expires_at is not None
    assert rec.lease_expires_at.tzinfo == timezone.utc
    assert c.expires_at == rec.lease_expires_at
    entry = loaded.audit_log(limit=1)[0]
    assert entry.at.tzinfo == timezone.utc


def test_naive_now_is_refused(loaded: ControlStoreProtocol) -> None:
    with pytest.raises(ConfigError, match="timezone-aware"):
        loaded.enqueue_due(now=datetime(2024, 1, 1))


# ---------------------------------------------------------------- sources


def test_source_crud_and_audit(store: ControlStoreProtocol) -> None:
    added = store.add_source(_src(options={"sslmode": "require"}), actor="alice")
    assert added == _src(options={"sslmode": "require"})
    assert store.get_source("pg") == added
    assert store.source_version("pg") == 1
    updated = store.update_source(_src(host="db2"), actor="bob")
    assert updated.host == "db2"
    assert store.source_version("pg") == 2
    store.add_source(_src("mysql", db_type="mysql"), actor="alice")
    assert [s.name for s in store.list_sources()] == ["mysql", "pg"]
    store.remove_source("mysql", actor="carol")
    assert [s.name for s in store.list_sources()] == ["pg"]

    log = store.audit_log()
    assert [(e.action, e.entity, e.actor) for e in log] == [
        ("delete", "mysql", "carol"), ("create", "mysql", "alice"),
        ("update", "pg", "bob"), ("create", "pg", "alice")]
    upd = log[2]
    assert upd.before is not None
    assert upd.after is not None
    assert upd.before["host"] == "db"
    assert upd.after["host"] == "db2"
    assert upd.before["version"] == 1
    assert upd.after["version"] == 2
    assert upd.after["secret_ref"] == "env:PGPW"
    assert log[0].after is None
    assert log[3].before is None
    assert store.audit_log("mysql")[0].action == "delete"


@pytest.mark.parametrize(
    ("cfg", "fields"),
    [
        (SourceConfig("bad name!", ""), {"name", "db_type"}),
        (_src(port=70000), {"port"}),
        (_src(secret="hunter2"), {"secret"}),
        (_src(options={"x": object()}), {"options"}),
    ],
)
def test_add_source_bad_input_changes_nothing(
    store: ControlStoreProtocol, cfg: SourceConfig, fields: set[str]
) -> None:
    before = _snapshot(store)
    with pytest.raises(ValidationError) as info:
        store.add_source(cfg, actor="a")
    assert {p.field for p in info.value.problems} == fields
    assert "hunter2" not in str(info.value)
    assert _snapshot(store) == before


def test_source_errors(loaded: ControlStoreProtocol) -> None:
    before = _snapshot(loaded)
    with pytest.raises(ConfigError, match="already exists"):
        loaded.add_source(_src(), actor="a")
    with pytest.raises(UnknownNameError, match="unknown source 'nope'; registered: pg"):
        loaded.get_source("nope")
    with pytest.raises(UnknownNameError):
        loaded.update_source(_src("nope"), actor="a")
    with pytest.raises(UnknownNameError):
        loaded.remove_source("nope", actor="a")
    with pytest.raises(ConfigError, match=r"still used by table.*orders"):
        loaded.remove_source("pg", actor="a")
    with pytest.raises(StaleVersionError, match="current version is 1"):
        loaded.update_source(_src(host="x"), actor="a", expected_version=7)
    with pytest.raises(ValidationError):
        loaded.update_source(_src(port=0), actor="a")
    with pytest.raises(ConfigError, match="actor"):
        loaded.add_source(_src("other"), actor=" ")
    assert _snapshot(loaded) == before


# ---------------------------------------------------------------- tables


def test_get_tables_reads_many_in_order_and_names_the_unknown_one(
    loaded: ControlStoreProtocol, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dataloader_sdk.control import tables

    monkeypatch.setattr(tables, "_NAMES_PER_QUERY", 2)  # several IN (...) reads
    names = [f"t{i}" for i in range(5)]
    for name in names:
        loaded.add_table(_tbl(name), actor="alice")
    wanted = ["t4", "orders", "t0", "t2", "t3"]
    got = loaded.get_tables(wanted)
    assert [t.name for t in got] == wanted
    assert got == [loaded.get_table(name) for name in wanted]
    assert loaded.get_tables([]) == []
    with pytest.raises(UnknownNameError, match=r"unknown table 'nope'.*orders"):
        loaded.get_tables(["orders", "t1", "t3", "nope", "t0"])


def test_table_crud_and_audit(loaded: ControlStoreProtocol) -> None:
    rec = loaded.get_table("orders")
    assert rec.status == "idle"
    assert rec.version == 1
    assert rec.state == TableState()
    assert rec.config == _tbl()
    q = loaded.add_table(
        _tbl("q", source_table=None, source_schema=None, source_query="select 1",
             strategy="incremental", strategy_options={"watermark_column": "id"},
             interval_seconds=None, priority=5, enabled=False), actor="bob")
    assert q.config.source_query == "select 1"
    assert q.config.strategy_options == {
        "watermark_column": "id"}
    assert [t.name for t in loaded.list_tables()] == ["orders", "q"]

    changed = loaded.update_table(_tbl(priority=1), expected_version=1, actor="bob")
    assert changed.version == 2
    assert changed.config.priority == 1
    entry = loaded.audit_log("orders")[0]
    assert entry.action == "update"
    assert entry.before is not None
    assert entry.after is not None
    assert (entry.before["priority"], entry.after["priority"]) == (100, 1)
    assert (entry.before["version"], entry.after["version"]) == (1, 2)

    loaded.remove_table("q", actor="carol")
    assert [t.name for t in loaded.list_tables()] == ["orders"]
    gone = loaded.audit_log("q")[0]
    assert gone.action == "delete"
    assert gone.after is None
    assert gone.before is not None


def test_three_part_target_round_trips(loaded: ControlStoreProtocol) -> None:
    cfg = TableConfig("uc", "pg", TargetName.parse("main.bronze.uc"), source_table="uc")
    assert loaded.add_table(cfg, actor="a").config.target == TargetName("bronze", "uc", "main")


def test_stale_version_is_refused(loaded: ControlStoreProtocol) -> None:
    loaded.update_table(_tbl(priority=2), expected_version=1, actor="a")
    before = _snapshot(loaded)
    with pytest.raises(StaleVersionError) as info:
        loaded.update_table(_tbl(priority=3), expected_version=1, actor="b")
    assert "current version is 2" in str(info.value)
    assert "reload" in str(info.value)
    assert _snapshot(loaded) == before


@pytest.mark.parametrize(
    ("cfg", "fields"),
    [
        (TableConfig("x y", "pg", TargetName("b", "t")), {"name", "source_table"}),
        (_tbl(source_query="select 1"), {"source_table"}),
        (_tbl(interval_seconds=0, priority="high"), {"interval_seconds", "priority"}),
        (_tbl(strategy_options={"d": {1, 2}}), {"strategy_options"}),
        (TableConfig("t", "pg", "bronze.t", source_table="t"), {"target"}),  # type: ignore[arg-type]
    ],
)
def test_add_table_bad_input_changes_nothing(
    loaded: ControlStoreProtocol, cfg: TableConfig, fields: set[str]
) -> None:
    before = _snapshot(loaded)
    with pytest.raises(ValidationError) as info:
        loaded.add_table(cfg, actor="a")
    assert {p.field for p in info.value.problems} == fields
    with pytest.raises(ValidationError):
        loaded.update_table(cfg, expected_version=1, actor="a")
    assert _snapshot(loaded) == before


def test_table_errors(loaded: ControlStoreProtocol) -> None:
    before = _snapshot(loaded)
    with pytest.raises(ConfigError, match="'orders' already exists"):
        loaded.add_table(_tbl(), actor="a")
    with pytest.raises(UnknownNameError, match=r"unknown source 'nope'.*add_source"):
        loaded.add_table(_tbl("x", source="nope"), actor="a")
    with pytest.raises(UnknownNameError, match="unknown table 'x'; registered: orders"):
        loaded.get_table("x")
    with pytest.raises(UnknownNameError):
        loaded.update_table(_tbl("x"), expected_version=1, actor="a")
    with pytest.raises(UnknownNameError):
        loaded.remove_table("x", actor="a")
    with pytest.raises(UnknownNameError):
        loaded.reset_state("x", actor="a")
    assert _snapshot(loaded) == before


def test_reset_state(loaded: ControlStoreProtocol) -> None:
    c = loaded.claim("orders", owner="w", lease_seconds=60, now=T0)
    loaded.save_state(c, TableState(watermark=Watermark.of(42), txn_version=3))
    with pytest.raises(StateError, match="while it is running"):
        loaded.reset_state("orders", actor="a")
    with pytest.raises(StateError, match="while it is running"):
        loaded.remove_table("orders", actor="a")
    loaded.finish(c, status="succeeded", now=T0)
    rec = loaded.reset_state("orders", actor="ops")
    assert rec.state == TableState()
    entry = loaded.audit_log("orders")[0]
    assert entry.action == "state_reset"
    assert entry.actor == "ops"
    assert entry.before is not None
    assert entry.after is not None
    assert entry.before["state"] == TableState(Watermark.of(42), 3).to_json()
    assert entry.after["state"] == TableState().to_json()


# ---------------------------------------------------------------- state machine

ALLOWED = [(a, b) for a in TABLE_STATUSES for b in TABLE_STATUSES if is_allowed(a, b)]
FORBIDDEN = [(a, b) for a in TABLE_STATUSES for b in TABLE_STATUSES if not is_allowed(a, b)]


def test_transition_table_is_the_documented_one() -> None:
    assert sorted(ALLOWED) == sorted([
        ("idle", "queued"), ("queued", "running"), ("running", "succeeded"),
        ("running", "failed"), ("running", "skipped"), ("succeeded", "queued"),
        ("running", "cancelled"), ("cancelled", "queued"),
        ("skipped", "queued"), ("failed", "queued"), ("needs_attention", "queued"),
        ("failed", "needs_attention"), ("queued", "failed"), ("needs_attention", "idle"),
    ])
    assert set(TRANSITIONS) == set(TABLE_STATUSES)


@pytest.mark.parametrize(("frm", "to"), ALLOWED)
def test_allowed_transition(frm: TableStatus, to: TableStatus) -> None:
    assert check_transition("t", frm, to) == to


@pytest.mark.parametrize(("frm", "to"), FORBIDDEN)
def test_forbidden_transition(frm: TableStatus, to: TableStatus) -> None:
    with pytest.raises(InvalidTransitionError) as info:
        check_transition("orders", frm, to)
    assert f"table 'orders' cannot go from {frm!r} to {to!r}" in str(info.value)


def test_transition_to_unknown_status() -> None:
    with pytest.raises(InvalidTransitionError, match="not a status"):
        check_transition("t", "idle", "done")
    with pytest.raises(InvalidTransitionError, match="unknown status"):
        check_transition("t", "done", "idle")


def _put_in(store: ControlStoreProtocol, status: TableStatus) -> None:
    """Drive table 'orders' (idle) into ``status`` through the public API."""
    if status == "idle":
        return
    if status == "queued":
        store.set_status("orders", "queued", actor="t", reason="setup")
        return
    c = store.claim("orders", owner="w", lease_seconds=60, now=T0)
    if status == "running":
        return
    if status == "needs_attention":
        store.finish(c, status="failed", now=T0, permanent=True)
        return
    store.finish(c, status=status, now=T0)


@pytest.mark.parametrize(("frm", "to"), ALLOWED)
def test_set_status_allowed(loaded: ControlStoreProtocol, frm: TableStatus, to: TableStatus) -> None:
    _put_in(loaded, frm)
    assert loaded.get_table("orders").status == frm
    rec = loaded.set_status("orders", to, actor="ops", reason="because")
    assert rec.status == to
    entry = loaded.audit_log("orders")[0]
    assert entry.action == "status"
    assert entry.after is not None
    assert entry.after["reason"] == "because"
    if frm == "running":
        assert rec.lease_owner is None


@pytest.mark.parametrize(
    ("frm", "to"),
    [("idle", "running"), ("idle", "succeeded"), ("queued", "succeeded"),
     ("succeeded", "failed"), ("needs_attention", "running"), ("running", "queued"),
     ("failed", "succeeded")],
)
def test_set_status_forbidden_changes_nothing(
    loaded: ControlStoreProtocol, frm: TableStatus, to: TableStatus
) -> None:
    _put_in(loaded, frm)
    before = _snapshot(loaded)
    with pytest.raises(InvalidTransitionError, match=f"from '{frm}' to '{to}'"):
        loaded.set_status("orders", to, actor="ops", reason="x")
    assert _snapshot(loaded) == before


def test_set_status_needs_reason(loaded: ControlStoreProtocol) -> None:
    with pytest.raises(ConfigError, match="reason"):
        loaded.set_status("orders", "queued", actor="ops", reason="")


# ---------------------------------------------------------------- scheduling and leases


def test_enqueue_due_rules(loaded: ControlStoreProtocol) -> None:
    loaded.add_table(_tbl("manual", interval_seconds=None), actor="a")
    loaded.add_table(_tbl("off", enabled=False), actor="a")
    # never scheduled + interval -> due; manual (no interval) and disabled are not
    assert loaded.enqueue_due(now=T0) == ["orders"]
    assert loaded.enqueue_due(now=T0) == []  # already queued
    c = loaded.claim_due(owner="w", limit=10, lease_seconds=60, now=T0)
    assert [x.table.name for x in c] == ["orders"]
    done = loaded.finish(c[0], status="succeeded", now=T0)
    assert done.next_run_at == T0 + timedelta(hours=1)
    assert done.last_run_at == T0
    assert loaded.enqueue_due(now=T0 + timedelta(minutes=59)) == []
    assert loaded.enqueue_due(now=T0 + timedelta(hours=1)) == ["orders"]


def test_claim_due_orders_by_priority_and_limit(loaded: ControlStoreProtocol) -> None:
    loaded.add_table(_tbl("urgent", priority=1), actor="a")
    loaded.add_table(_tbl("later", priority=500), actor="a")
    assert loaded.enqueue_due(now=T0) == ["urgent", "orders", "later"]
    first = loaded.claim_due(owner="w1", limit=2, lease_seconds=60, now=T0)
    assert [c.table.name for c in first] == ["urgent", "orders"]
    assert all(c.table.status == "running" and c.owner == "w1" for c in first)
    second = loaded.claim_due(owner="w2", limit=2, lease_seconds=60, now=T0)
    assert [c.table.name for c in second] == ["later"]
    assert loaded.claim_due(owner="w3", limit=2, lease_seconds=60, now=T0) == []
    with pytest.raises(ConfigError, match="limit"):
        loaded.claim_due(owner="w", limit=0, lease_seconds=60, now=T0)
    with pytest.raises(ConfigError, match="lease_seconds"):
        loaded.claim("orders", owner="w", lease_seconds=-1, now=T0)


def test_claim_lease_and_takeover(loaded: ControlStoreProtocol) -> None:
    c1 = loaded.claim("orders", owner="w1", lease_seconds=60, now=T0)
    assert c1.generation == 1
    assert c1.expires_at == T0 + timedelta(seconds=60)
    with pytest.raises(LeaseError) as info:
        loaded.claim("orders", owner="w2", lease_seconds=60, now=T0 + timedelta(seconds=30))
    assert "'w1'" in str(info.value)
    assert "2024-05-01T12:01:00" in str(info.value)
    # after expiry another worker takes over; the old claim can no longer write
    c2 = loaded.claim("orders", owner="w2", lease_seconds=60, now=T0 + timedelta(seconds=61))
    assert c2.generation == 2
    assert c2.table.lease_owner == "w2"
    with pytest.raises(LeaseError, match="leased by 'w2'"):
        loaded.save_state(c1, TableState(txn_version=9))
    with pytest.raises(LeaseError):
        loaded.finish(c1, status="succeeded", now=T0)
    loaded.save_state(c2, TableState(txn_version=1))
    assert loaded.get_table("orders").state.txn_version == 1
    rec = loaded.finish(c2, status="succeeded", now=T0 + timedelta(seconds=90))
    assert rec.lease_owner is None
    assert rec.status == "succeeded"
    with pytest.raises(LeaseError, match="no lease"):
        loaded.save_state(c2, TableState())
    with pytest.raises(UnknownNameError):
        loaded.claim("nope", owner="w", lease_seconds=5, now=T0)


def test_claim_from_every_non_running_status(loaded: ControlStoreProtocol) -> None:
    for status in ("idle", "queued", "succeeded", "skipped", "failed", "needs_attention"):
        loaded.remove_table("orders", actor="a")
        loaded.add_table(_tbl(), actor="a")
        _put_in(loaded, status)
        c = loaded.claim("orders", owner="w", lease_seconds=60, now=T0)
        assert c.table.status == "running"
        loaded.finish(c, status="succeeded", now=T0)


def test_monitor_fails_stuck_run_and_old_claim_loses(loaded: ControlStoreProtocol) -> None:
    c = loaded.claim("orders", owner="w", lease_seconds=60, now=T0)
    rec = loaded.set_status("orders", "failed", actor="monitor", reason="running too long")
    assert rec.lease_owner is None
    assert rec.retry_count == 1
    with pytest.raises(LeaseError):
        loaded.finish(c, status="succeeded", now=T0)


def test_finish_retry_policy(make_store: StoreFactory) -> None:
    store = make_store(max_retries=2, retry_delay_seconds=30)
    store.add_source(_src(), actor="a")
    store.add_table(_tbl(), actor="a")
    now = T0
    statuses = []
    for _ in range(3):
        c = store.claim("orders", owner="w", lease_seconds=60, now=now)
        rec = store.finish(c, status="failed", now=now)
        statuses.append((rec.status, rec.retry_count))
        if rec.status == "failed":
            assert rec.next_run_at == now + timedelta(seconds=30)
            assert store.enqueue_due(now=now + timedelta(seconds=30)) == ["orders"]
        now += timedelta(minutes=1)
    assert statuses == [("failed", 1), ("failed", 2), ("needs_attention", 3)]
    assert store.enqueue_due(now=now + timedelta(days=1)) == []
    rec = store.set_status("orders", "idle", actor="ops", reason="fixed the source")
    assert rec.retry_count == 0
    c = store.claim("orders", owner="w", lease_seconds=60, now=now)
    assert store.finish(c, status="failed", now=now, permanent=True).status == (
        "needs_attention")
    c = store.claim("orders", owner="w", lease_seconds=60, now=now)
    rec = store.finish(c, status="skipped", now=now)
    assert (rec.status, rec.retry_count) == ("skipped", 0)


def test_claim_concurrently_sqlite(sql_loaded: ControlStore, tmp_path: Path) -> None:
    """SQL only: two stores (own connections) race to claim the same table: one wins."""
    stores = [ControlStore.open(_url(tmp_path), upgrade=False) for _ in range(2)]
    barrier = threading.Barrier(2)
    results: list[object] = []

    def work(s: ControlStore, owner: str) -> None:
        barrier.wait()
        try:
            results.append(s.claim("orders", owner=owner, lease_seconds=60, now=T0))
        except LeaseError as exc:
            results.append(exc)

    threads = [threading.Thread(target=work, args=(s, f"w{i}")) for i, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert sum(isinstance(r, Claim) for r in results) == 1
    assert sum(isinstance(r, LeaseError) for r in results) == 1


def test_claim_concurrently_one_store(loaded: ControlStoreProtocol) -> None:
    """Two threads race to claim the same table through one store: one wins."""
    barrier = threading.Barrier(2)
    results: list[object] = []

    def work(owner: str) -> None:
        barrier.wait()
        try:
            results.append(loaded.claim("orders", owner=owner, lease_seconds=60, now=T0))
        except LeaseError as exc:
            results.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(isinstance(r, Claim) for r in results) == 1
    assert sum(isinstance(r, LeaseError) for r in results) == 1


# ---------------------------------------------------------------- history


def _run(run_id: str, started: datetime, **kw: object) -> RunRecord:
    base: dict[str, object] = {"table_id": 1, "table": "orders", "strategy": "full",
                               "engine": "delta_rs", "status": "running"}
    base.update(kw)
    return RunRecord(run_id=run_id, started_at=started, **base)  # type: ignore[arg-type]


def test_record_run_insert_then_update(loaded: ControlStoreProtocol) -> None:
    loaded.record_run(_run("r1", T0))
    finished = _run("r1", T0, status="succeeded", finished_at=T0 + timedelta(seconds=5),
                    rows_read=10, rows_written=10, steps_committed=1,
                    watermark_before=Watermark.of(3),
                    watermark_after=Watermark.of(datetime(2024, 1, 1, tzinfo=timezone.utc)),
                    orchestrator_run_id="dagster-1", note="ok")
    loaded.record_run(finished)
    loaded.record_run(_run("r2", T0 + timedelta(hours=1), table="other", status="failed",
                           error_class="SourceTransientError", error_message="timeout"))
    assert loaded.runs("orders") == [finished]
    assert [r.run_id for r in loaded.runs()] == ["r2", "r1"]
    assert [r.run_id for r in loaded.runs(limit=1)] == ["r2"]
    assert loaded.runs("nothing") == []


def test_record_run_bad_input_changes_nothing(loaded: ControlStoreProtocol) -> None:
    before = _snapshot(loaded)
    with pytest.raises(ValidationError) as info:
        loaded.record_run(_run("", datetime(2024, 1, 1), rows_read=-1))
    assert {p.field for p in info.value.problems} == {"run_id", "started_at", "rows_read"}
    with pytest.raises(ConfigError, match="limit"):
        loaded.runs(limit=0)
    assert _snapshot(loaded) == before


def test_audit_log_limit(loaded: ControlStoreProtocol) -> None:
    assert len(loaded.audit_log(limit=1)) == 1
    assert len(loaded.audit_log()) == 2
    with pytest.raises(ConfigError):
        loaded.audit_log(limit=-5)


def test_secret_never_stored(sql_loaded: ControlStore, tmp_path: Path) -> None:
    """SQL only (reads the raw database file): only the reference is stored; a raw value
    looking like a secret is refused (refusal for both stores: test_add_source_bad_input)."""
    with pytest.raises(ValidationError):
        sql_loaded.add_source(_src("s2", secret="p@ssw0rd"), actor="a")
    with sqlite3.connect(tmp_path / "dataloader.db") as raw:
        dump = "\n".join(raw.iterdump())
    raw.close()
    assert "p@ssw0rd" not in dump
    assert "env:PGPW" in dump


def _run_of(run_id: str, started: datetime) -> Callable[[TableRecord], RunRecord]:
    return lambda table: _run(run_id, started, table_id=table.table_id)


def test_together_is_all_or_nothing(loaded: ControlStoreProtocol) -> None:
    c = loaded.claim("orders", owner="w", lease_seconds=60, now=T0)

    def end_of_run_that_fails() -> None:
        loaded.record_run(_run("r1", T0))
        loaded.save_state(c, TableState(txn_version=5))
        raise RuntimeError("the engine failed after both writes")

    with pytest.raises(RuntimeError):
        loaded.together(end_of_run_that_fails)
    assert loaded.runs() == []
    assert loaded.get_table("orders").state == TableState()

    def end_of_run() -> int:
        loaded.record_run(_run("r1", T0, status="succeeded", finished_at=T0))
        loaded.save_state(c, TableState(txn_version=5))
        return 7

    assert loaded.together(end_of_run) == 7
    assert [r.status for r in loaded.runs()] == ["succeeded"]
    assert loaded.get_table("orders").state.txn_version == 5


def test_claim_records_its_run_and_a_takeover_closes_it(loaded: ControlStoreProtocol) -> None:
    first = loaded.claim("orders", owner="w1", lease_seconds=60, now=T0,
                         run=_run_of("r1", T0))
    assert first.run is not None
    assert loaded.runs() == [first.run]
    later = T0 + timedelta(seconds=61)
    second = loaded.claim("orders", owner="w2", lease_seconds=60, now=later,
                          run=_run_of("r2", later))
    assert second.generation == first.generation + 1
    runs = loaded.runs()
    assert [r.run_id for r in runs] == ["r2", "r1"]
    assert (runs[1].status, runs[1].error_class, runs[1].finished_at) == (
        "failed", "AbandonedRun", later)
    assert runs[0].status == "running"


def test_renew_extends_only_a_held_lease(loaded: ControlStoreProtocol) -> None:
    c = loaded.claim("orders", owner="w", lease_seconds=60, now=T0)
    renewed = loaded.renew(c, now=T0 + timedelta(seconds=50), lease_seconds=60)
    assert renewed.expires_at == T0 + timedelta(seconds=110)
    assert loaded.get_table("orders").lease_expires_at == renewed.expires_at
    with pytest.raises(LeaseError):  # the renewed lease holds at +100 s: no takeover
        loaded.claim("orders", owner="w2", lease_seconds=60, now=T0 + timedelta(seconds=100))
    loaded.finish(renewed, status="succeeded", now=T0 + timedelta(seconds=100))
    with pytest.raises(LeaseError, match="no lease"):
        loaded.renew(renewed, now=T0 + timedelta(seconds=101), lease_seconds=60)


def test_unlock_cancels_the_run_and_audits(loaded: ControlStoreProtocol) -> None:
    c = loaded.claim("orders", owner="w", lease_seconds=60, now=T0, run=_run_of("r1", T0))
    with pytest.raises(ConfigError, match="reason"):
        loaded.unlock("orders", actor="ops", reason=" ")
    rec = loaded.unlock("orders", actor="ops", reason="host is gone")
    assert (rec.status, rec.lease_owner) == ("cancelled", None)
    assert loaded.runs()[0].error_class == "LoadCancelledError"
    entry = loaded.audit_log("orders")[0]
    assert (entry.action, entry.actor) == ("status", "ops")
    assert entry.after == {"status": "cancelled", "reason": "unlock: host is gone"}
    with pytest.raises(LeaseError):
        loaded.save_state(c, TableState(txn_version=1))
    with pytest.raises(StateError, match="not running"):
        loaded.unlock("orders", actor="ops", reason="again")


def test_both_stores_keep_the_protocol(store: ControlStoreProtocol) -> None:
    assert isinstance(store, ControlStoreProtocol)
    assert store.control_id == store.control_id
    assert store.environment == "dataloader"


def test_targets_are_lower_case_and_one_per_table(loaded: ControlStoreProtocol) -> None:
    """The target rules of test_target_names.py, through the API alone (both stores)."""
    mixed = TableConfig("mixed", "pg", TargetName.parse("Main.Bronze.Mixed"), source_table="m")
    assert str(loaded.add_table(mixed, actor="a").config.target) == "main.bronze.mixed"
    before = _snapshot(loaded)
    clash = TableConfig("clash", "pg", TargetName.parse("BRONZE.Orders"), source_table="c")
    with pytest.raises(ConfigError, match=r"'clash'.*already the target of table 'orders'"):
        loaded.add_table(clash, actor="a")
    rec = loaded.get_table("mixed")
    moved = TableConfig("mixed", "pg", TargetName("bronze", "Orders"), source_table="m")
    with pytest.raises(ConfigError, match="already the target of table 'orders'"):
        loaded.update_table(moved, expected_version=rec.version, actor="a")
    assert _snapshot(loaded) == before

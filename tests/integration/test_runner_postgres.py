"""End to end: PostgreSQL source → runner → local Delta, with the three skeleton strategies."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import psycopg
import pyarrow as pa
import pytest

from dataloader_sdk.errors import DataLoaderError
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.model import SourceConfig, TableConfig, TargetName, Watermark
from tests.servers.postgres import PostgresServer

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

T0 = datetime(2026, 11, 1, 10, 0, 0, 123456, tzinfo=timezone.utc)


def sql(server: PostgresServer, db: str, statement: str, params: Any = None) -> None:
    with psycopg.connect(server.dsn(db), autocommit=True) as conn:
        conn.execute(statement, params)


def create_orders(server: PostgresServer, db: str, n: int) -> None:
    sql(server, db, """
        CREATE TABLE orders (
            id bigint PRIMARY KEY, amount numeric(18,4) NOT NULL, note text,
            updated_at timestamptz NOT NULL)""")
    sql(server, db, """
        INSERT INTO orders
        SELECT g, g * 1.0001, CASE WHEN g %% 3 = 0 THEN NULL ELSE 'n' || g END,
               %s::timestamptz + g * interval '1 microsecond'
        FROM generate_series(1, %s) g""", (T0, n))


def add(loader: DataLoader, source: SourceConfig, name: str, strategy: str,
        options: dict[str, Any], table: str = "orders") -> None:
    if source.name not in {s.name for s in loader.store.list_sources()}:
        loader.store.add_source(source, actor="test")
    loader.store.add_table(TableConfig(
        name=name, source=source.name, source_table=table, source_schema="public",
        target=TargetName("bronze", name), strategy=strategy, strategy_options=options,
    ), actor="test")


def delta_rows(loader: DataLoader, name: str) -> pa.Table:
    return loader.engine.read(TargetName("bronze", name)).sort_by("id")


def test_full_load_copies_every_row_exactly(
    loader: DataLoader, pg_source: SourceConfig, pg_server: PostgresServer, pg_database: str
) -> None:
    create_orders(pg_server, pg_database, 1000)
    add(loader, pg_source, "orders_full", "full", {})
    run = loader.load_table("orders_full")
    assert (run.status, run.rows_read, run.rows_written) == ("succeeded", 1000, 1000)
    table = delta_rows(loader, "orders_full")
    assert table.num_rows == 1000
    assert table.schema.field("amount").type == pa.decimal128(18, 4)
    assert table["amount"][9].as_py() == Decimal("10.0010")
    assert table["updated_at"][0].as_py() == T0 + timedelta(microseconds=1)
    assert table["note"].null_count == 333
    assert set(table["_dl_run_id"].to_pylist()) == {run.run_id}
    # A second full load replaces, never duplicates.
    sql(pg_server, pg_database, "DELETE FROM orders WHERE id > 900")
    again = loader.load_table("orders_full")
    assert delta_rows(loader, "orders_full").num_rows == 900
    assert again.rows_written == 900


def test_incremental_merges_changes_and_keeps_the_watermark_exact(
    loader: DataLoader, pg_source: SourceConfig, pg_server: PostgresServer, pg_database: str
) -> None:
    create_orders(pg_server, pg_database, 500)
    add(loader, pg_source, "orders_inc", "incremental",
        {"watermark_column": "updated_at", "primary_keys": ["id"]})
    first = loader.load_table("orders_inc")
    assert first.rows_written == 500
    assert first.watermark_after == Watermark("timestamptz", T0 + timedelta(microseconds=500))
    later = T0 + timedelta(days=1, microseconds=7)
    sql(pg_server, pg_database,
        "UPDATE orders SET amount = 0.5, updated_at = %s WHERE id IN (3, 4)", (later,))
    sql(pg_server, pg_database,
        "INSERT INTO orders VALUES (501, 1.25, 'new', %s)", (later,))
    second = loader.load_table("orders_inc")
    # >= W re-reads the boundary row (id 500) too; the merge makes that harmless.
    assert second.rows_read == 4
    assert second.watermark_after == Watermark("timestamptz", later)
    table = delta_rows(loader, "orders_inc")
    assert table.num_rows == 501
    assert table["amount"][2].as_py() == Decimal("0.5000")
    assert table["id"].to_pylist() == list(range(1, 502))
    state = loader.store.get_table("orders_inc").state
    assert state.watermark == Watermark("timestamptz", later)
    assert state.txn_version == 2


def test_append_only_appends_new_rows_once(
    loader: DataLoader, pg_source: SourceConfig, pg_server: PostgresServer, pg_database: str
) -> None:
    create_orders(pg_server, pg_database, 100)
    add(loader, pg_source, "orders_app", "append_only", {"watermark_column": "id"})
    assert loader.load_table("orders_app").rows_written == 100
    nothing = loader.load_table("orders_app")
    assert (nothing.rows_written, nothing.steps_committed) == (0, 0)
    sql(pg_server, pg_database,
        "INSERT INTO orders SELECT g, 1, NULL, now() FROM generate_series(101, 150) g")
    assert loader.load_table("orders_app").rows_written == 50
    ids = delta_rows(loader, "orders_app")["id"].to_pylist()
    assert ids == list(range(1, 151))
    history = loader.store.runs("orders_app")
    assert [r.rows_written for r in history] == [50, 0, 100]
    assert all(r.status == "succeeded" for r in history)


def test_crash_after_commit_before_control_update_loses_and_duplicates_nothing(
    loader: DataLoader, pg_source: SourceConfig, pg_server: PostgresServer, pg_database: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    create_orders(pg_server, pg_database, 100)
    add(loader, pg_source, "orders_crash", "append_only", {"watermark_column": "id"})
    loader.load_table("orders_crash")
    sql(pg_server, pg_database,
        "INSERT INTO orders SELECT g, 1, NULL, now() FROM generate_series(101, 120) g")

    class Crash(Exception):
        pass

    real_save = loader.store.save_state

    def crash_once(*args: Any, **kwargs: Any) -> None:
        monkeypatch.setattr(loader.store, "save_state", real_save)
        raise Crash("killed between the Delta commit and the control update")

    monkeypatch.setattr(loader.store, "save_state", crash_once)
    with pytest.raises(DataLoaderError, match="killed between"):
        loader.load_table("orders_crash")
    # Delta has the rows; the control DB still has the old watermark.
    assert loader.store.get_table("orders_crash").state.watermark == Watermark("int", 100)
    assert delta_rows(loader, "orders_crash").num_rows == 120
    sql(pg_server, pg_database,
        "INSERT INTO orders SELECT g, 1, NULL, now() FROM generate_series(121, 125) g")
    rerun = loader.load_table("orders_crash")
    assert rerun.rows_written == 5
    ids = delta_rows(loader, "orders_crash")["id"].to_pylist()
    assert ids == list(range(1, 126))  # nothing lost, nothing duplicated
    assert loader.store.get_table("orders_crash").state.watermark == Watermark("int", 125)


def test_load_due_runs_tables_in_parallel_with_a_per_source_cap(
    loader: DataLoader, pg_source: SourceConfig, pg_server: PostgresServer, pg_database: str
) -> None:
    create_orders(pg_server, pg_database, 50)
    loader.store.add_source(pg_source, actor="test")
    for i in range(4):
        loader.store.add_table(TableConfig(
            name=f"t{i}", source="pg", source_table="orders", target=TargetName("bronze", f"t{i}"),
            strategy="full", interval_seconds=3600,
        ), actor="test")
    runs = loader.load_due(max_workers=3, per_source_limit=2)
    assert sorted(r.table for r in runs) == ["t0", "t1", "t2", "t3"]
    assert all(r.status == "succeeded" and r.rows_written == 50 for r in runs)
    # Nothing is due any more until the interval passes.
    assert loader.load_due() == []

"""A control DB populated the way production populates one: real loads through the API.

Used by the troubleshooting-recipe tests. Two days of runs on a SQLite source file read by
the ``sqlalchemy`` connector and written to local Delta tables by delta-rs:

- ``customers`` (full, 3 rows) and ``orders`` (incremental on ``version``) succeed on both
  days; on day 2 two orders are inserted and one is updated;
- ``ghost`` reads a source table that does not exist: it fails on day 1 and again on
  day 2, which exhausts ``max_retries=1`` and parks it in ``needs_attention``;
- ``events`` is claimed by a worker that then dies: it stays ``running`` with a lease that
  expired long ago (the clock is in 2024);
- ``orders`` is edited once after its runs, so its audit trail has a create and an update.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from dataloader_sdk.control import ControlStore
from dataloader_sdk.engines.base import EngineSettings
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.model import SourceConfig, TableConfig, TargetName
from dataloader_sdk.plugins import PluginHost

DAY1 = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)
DAY2 = DAY1 + timedelta(days=1)
DEAD_WORKER = "worker-that-died"


@dataclass
class Clock:
    """The loader's clock, moved by the scenario (runs get the times it says)."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class Scenario:
    """What the scenario did, as the test knows it (not as the control DB says)."""

    control_url: str
    delta_root: Path
    orders_day1_rows: int = 5
    orders_day2_rows: int = 3  # two inserted + one updated
    customers_rows: int = 3


def _source(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.executemany("INSERT INTO customers VALUES (?, ?)",
                         [(1, "ada"), (2, "bob"), (3, "cy")])
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, version INTEGER, amount REAL)")
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?)",
                         [(i, i, 10.0 * i) for i in range(1, 6)])
        conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT)")
    conn.close()


def _day2_changes(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?)", [(6, 6, 60.0), (7, 7, 70.0)])
        conn.execute("UPDATE orders SET version = 8, amount = 11.0 WHERE id = 1")
    conn.close()


def populate(control_url: str, workdir: Path) -> Scenario:
    """Run the scenario against a fresh control DB at ``control_url``."""
    source = workdir / "shop.db"
    _source(source)
    delta_root = workdir / "delta"
    clock = Clock(DAY1)
    store = ControlStore.open(control_url, max_retries=1)
    host = PluginHost()
    engine = host.engine("delta_rs").open(EngineSettings(root=str(delta_root)))
    loader = DataLoader(store, engine, host=host, worker_id="recipe-worker", clock=clock)
    try:
        loader.add_source(SourceConfig(name="shop", db_type="sqlalchemy",
                                       options={"url": f"sqlite:///{source}"}), actor="alice")

        def table(name: str, strategy: str = "full", source_table: str | None = None,
                  **options: object) -> TableConfig:
            return TableConfig(name=name, source="shop", source_table=source_table or name,
                               target=TargetName("bronze", name), strategy=strategy,
                               strategy_options=options,  # type: ignore[arg-type]
                               interval_seconds=3600)

        loader.add_table(table("customers"), actor="alice")
        loader.add_table(table("orders", "incremental", watermark_column="version",
                               primary_keys=["id"]), actor="alice")
        loader.add_table(table("ghost", source_table="no_such_table"), actor="bob")
        loader.add_table(table("events"), actor="bob")

        for day in (DAY1, DAY2):
            if day == DAY2:
                _day2_changes(source)
            for offset, name in enumerate(("customers", "orders", "ghost")):
                clock.now = day + timedelta(minutes=offset)
                loader.load_table(name, raise_on_error=False)
            if day == DAY1:
                # A worker claims events, then dies: its lease ran out a minute later.
                store.claim("events", owner=DEAD_WORKER, lease_seconds=60,
                            now=day + timedelta(minutes=30))

        orders = store.get_table("orders")
        loader.update_table(replace(orders.config, interval_seconds=900),
                            expected_version=orders.version, actor="carol")
    finally:
        loader.close()
    return Scenario(control_url=control_url, delta_root=delta_root)

"""Fixtures of the bulk-edit and audit tests: a control DB on SQLite and on the test
PostgreSQL, a real loader (plugins for the strategies' option checks), and a reader of
control rows that goes around the store (raw sqlite3 / psycopg).

Test modules import the fixtures they use from here (``control_fixture`` provides the
fixture ``control``, and so on), so this file does not compete with a conftest of the
package.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from dataloader_sdk.control import ControlStore
from dataloader_sdk.engines.base import EngineSettings
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.model import SourceConfig, TableConfig, TargetName
from dataloader_sdk.plugins import PluginHost

__all__ = [
    "Control",
    "Raw",
    "bulk_loader_fixture",
    "bulk_store_fixture",
    "control_fixture",
    "make_table",
    "race_worker",
    "seed",
    "seeded_cli",
]


@dataclass
class Raw:
    """Reads the control DB of environment ``dataloader`` without the store."""

    backend: str
    url: str
    sqlite_path: Path | None = None
    dsn: str | None = None

    def rows(self, sql: str, *params: object) -> list[dict[str, Any]]:
        """Rows of ``sql`` with ``?`` placeholders, as dicts (JSON columns decoded)."""
        if self.sqlite_path is not None:
            conn = sqlite3.connect(self.sqlite_path)
            conn.row_factory = sqlite3.Row
            try:
                out = [dict(r) for r in conn.execute(sql, params).fetchall()]
            finally:
                conn.close()
        else:
            import psycopg
            from psycopg.rows import dict_row

            assert self.dsn is not None
            with psycopg.connect(self.dsn, row_factory=dict_row) as pg:
                pg.execute("SET search_path TO dataloader")
                out = list(pg.execute(sql.replace("?", "%s"), params).fetchall())
        for row in out:
            for key in ("strategy_options", "state", "before", "after"):
                if isinstance(row.get(key), str):
                    row[key] = json.loads(row[key])
        return out

    def tables(self) -> dict[str, dict[str, Any]]:
        """Every ``table_control`` row by name."""
        return {r["name"]: r for r in self.rows("SELECT * FROM table_control")}

    def audit(self) -> list[dict[str, Any]]:
        """Every audit row, oldest first."""
        return self.rows("SELECT * FROM table_control_history ORDER BY id")


@dataclass
class Control:
    """A fresh control database: its URL and a raw reader."""

    url: str
    raw: Raw


@pytest.fixture(name="control", params=[
    "sqlite",
    pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.integration]),
])
def control_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Control:
    """A fresh control database (SQLite file, or a new PostgreSQL database)."""
    if request.param == "sqlite":
        return Control(f"sqlite:///{tmp_path / 'dataloader.db'}",
                       Raw("sqlite", "", sqlite_path=tmp_path / "dataloader.db"))
    server = request.getfixturevalue("pg_server")
    database = request.getfixturevalue("pg_database")
    return Control(server.url(database), Raw("postgres", "", dsn=server.dsn(database)))


@pytest.fixture(name="bulk_store")
def bulk_store_fixture(control: Control) -> Iterator[ControlStore]:
    """The migrated store of ``control`` (environment ``dataloader``), seeded."""
    store = ControlStore.open(control.url)
    seed(store)
    yield store
    store.close()


@pytest.fixture(name="bulk_loader")
def bulk_loader_fixture(bulk_store: ControlStore, tmp_path: Path) -> DataLoader:
    """A loader over ``bulk_store`` (its plugin host checks strategy options)."""
    host = PluginHost()
    engine = host.engine("delta_rs").open(EngineSettings(root=str(tmp_path / "delta")))
    return DataLoader(bulk_store, engine, host=host, worker_id="test-worker")


def make_table(name: str, source: str = "erp", *, schema: str = "bronze",
               **kw: Any) -> TableConfig:
    """A full-load table reading ``name`` into ``<schema>.<name>``."""
    return TableConfig(name=name, source=source, source_table=name,
                       target=TargetName(schema, name), **kw)


def seed(store: ControlStore) -> None:
    """Sources ``erp`` (with a secret reference) and ``crm``; six tables across them."""
    store.add_source(SourceConfig("erp", "sqlalchemy", options={"url": "sqlite:///erp.db"},
                                  secret="env:ERP_PASSWORD"), actor="seed")
    store.add_source(SourceConfig("crm", "sqlalchemy", options={"url": "sqlite:///crm.db"}),
                     actor="seed")
    for name in ("sales_orders", "sales_items", "sales_returns"):
        store.add_table(make_table(name, interval_seconds=3600), actor="seed")
    store.add_table(make_table("stock", strategy="append_only",
                               strategy_options={"watermark_column": "id"}), actor="seed")
    store.add_table(make_table("contacts", "crm", schema="crm_raw", enabled=False),
                    actor="seed")
    store.add_table(make_table("leads", "crm", schema="crm_raw"), actor="seed")


def race_worker(url: str, priority: int, barrier: Any, results: Any) -> None:
    """One racing process: plan a bulk edit of every ``sales_*`` table, wait until the
    other process has planned too, then apply; report ``(priority, outcome, detail)``."""
    from dataloader_sdk.errors import ChangeConflictError
    from dataloader_sdk.model.operations import TableChanges, TableSelection

    store = ControlStore.open(url, upgrade=False)
    try:
        plan = store.plan_bulk_edit(
            TableSelection(name_glob="sales_*"),
            TableChanges({"priority": priority, "strategy_options.note": f"p{priority}"}))
        barrier.wait(timeout=120)
        try:
            result = store.apply_bulk_plan(plan, actor=f"racer-{priority}")
        except ChangeConflictError as exc:
            results.put((priority, "conflict", sorted(exc.tables)))
        else:
            results.put((priority, "applied", result.change_set))
    except BaseException as exc:  # reported, so the test fails with the reason
        results.put((priority, "error", f"{type(exc).__name__}: {exc}"))
    finally:
        store.close()


def seeded_cli(tmp_path: Path) -> Callable[..., Result]:
    """``dataloader --home HOME ARGS...`` run in-process on an initialised project that
    :func:`seed` filled; the project directory is the callable's ``home``."""
    from dataloader_sdk.cli import main
    from dataloader_sdk.config import Settings

    home = tmp_path / "project"
    home.mkdir()
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(main, ["--home", str(home), *args], catch_exceptions=False)

    assert invoke("init").exit_code == 0
    store = Settings.load(home=home).open_store()
    seed(store)
    store.close()
    invoke.home = home  # type: ignore[attr-defined]
    return invoke

"""``dataloader tables update / enable / disable / bulk-update`` end to end (SQLite home):
JSON documents, exit codes, confirmation, and a conflict met while the prompt waits."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from dataloader_sdk.cli import main
from dataloader_sdk.config import Settings
from dataloader_sdk.control import ControlStore
from tests.operations.bulk_support import seed

Invoke = Callable[..., Result]
SALES = ["sales_items", "sales_orders", "sales_returns"]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    return path


@pytest.fixture
def dl(home: Path) -> Invoke:
    """``dataloader --home HOME ARGS...`` in-process, on an initialised, seeded project."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(main, ["--home", str(home), *args], input=input,
                             catch_exceptions=False)

    assert invoke("init").exit_code == 0
    store = Settings.load(home=home).open_store()
    seed(store)
    store.close()
    return invoke


def _rows(home: Path) -> dict[str, dict[str, Any]]:
    """``table_control`` read with sqlite3, not through the store."""
    paths = list(home.rglob("dataloader.db"))
    assert len(paths) == 1, paths
    conn = sqlite3.connect(paths[0])
    conn.row_factory = sqlite3.Row
    try:
        return {r["name"]: dict(r) for r in conn.execute("SELECT * FROM table_control")}
    finally:
        conn.close()


def _json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_bulk_update_dry_run_json(dl: Invoke, home: Path) -> None:
    before = _rows(home)
    doc = _json(dl("tables", "bulk-update", "--where", "name=sales_*", "--set", "priority=5",
                   "--set", "interval=15m", "--dry-run", "--json"))
    assert doc["dry_run"] is True and doc["change_set"] is None and doc["action"] == "bulk"
    assert [t["table"] for t in doc["tables"]] == SALES
    assert doc["tables"][0]["changes"] == [
        {"field": "interval_seconds", "kind": "changed", "before": 3600, "after": 900},
        {"field": "priority", "kind": "changed", "before": 100, "after": 5},
    ]
    assert _rows(home) == before


def test_bulk_update_yes_json_applies(dl: Invoke, home: Path) -> None:
    doc = _json(dl("tables", "bulk-update", "--where", "source=crm", "--where",
                   "enabled=false", "--set", "enabled=true", "--set",
                   "strategy_options.primary_keys=[\"id\"]", "--yes", "--json"))
    assert doc["dry_run"] is False and len(doc["change_set"]) == 32
    assert [(t["table"], t["version"], t["new_version"]) for t in doc["tables"]] == [
        ("contacts", 1, 2)]
    row = _rows(home)["contacts"]
    assert row["enabled"] == 1 and json.loads(row["strategy_options"]) == {"primary_keys": ["id"]}
    audit = _json(dl("audit", "--change-set", doc["change_set"], "--json"))
    assert [e["entity"] for e in audit["entries"]] == ["contacts"]


def test_bulk_update_asks_and_abort_writes_nothing(dl: Invoke, home: Path) -> None:
    before = _rows(home)
    result = dl("tables", "bulk-update", "--where", "name=sales_*", "--set", "priority=1",
                input="n\n")
    assert result.exit_code == 1 and "Apply these changes to 3 table(s)?" in result.stderr
    assert _rows(home) == before
    result = dl("tables", "bulk-update", "--where", "name=sales_*", "--set", "priority=1",
                input="y\n")
    assert result.exit_code == 0, result.output
    assert {_rows(home)[n]["priority"] for n in SALES} == {1}


def test_invalid_bulk_update_exits_2_naming_tables_and_fields(dl: Invoke, home: Path) -> None:
    before = _rows(home)
    result = dl("tables", "bulk-update", "--where", "source=erp", "--set",
                "strategy=incremental", "--yes")
    assert result.exit_code == 2
    assert "sales_orders: watermark_column" in result.stderr
    assert "stock: primary_keys" in result.stderr
    assert "nothing was changed" in result.stderr
    assert _rows(home) == before
    bad_where = dl("tables", "bulk-update", "--where", "colour=red", "--set", "priority=1")
    assert bad_where.exit_code == 2 and "where.colour" in bad_where.stderr
    bad_set = dl("tables", "bulk-update", "--where", "name=*", "--set", "interval=soon")
    assert bad_set.exit_code == 2 and "soon" in bad_set.stderr


def test_conflict_while_the_prompt_waits_exits_1_and_writes_nothing(
    dl: Invoke, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def colleague_edits_then_yes(*args: object, **kwargs: object) -> bool:
        # A second store (its own connections) edits a table while the prompt is open.
        store = ControlStore.open(Settings.load(home=home).control_url)
        try:
            rec = store.get_table("sales_items")
            store.update_table(rec.config, expected_version=rec.version, actor="colleague")
        finally:
            store.close()
        return True

    monkeypatch.setattr(click, "confirm", colleague_edits_then_yes)
    before = _rows(home)
    result = dl("tables", "bulk-update", "--where", "name=sales_*", "--set", "priority=1")
    assert result.exit_code == 1
    assert "sales_items" in result.stderr and "nothing was changed" in result.stderr
    after = _rows(home)
    assert after["sales_items"]["version"] == 2  # the colleague's edit only
    assert {after[n]["priority"] for n in SALES} == {before[n]["priority"] for n in SALES}


def test_update_enable_disable(dl: Invoke, home: Path) -> None:
    doc = _json(dl("tables", "update", "stock", "--set", "priority=3",
                   "--set", "strategy_options.watermark_column=seq", "--json"))
    assert doc["action"] == "update" and doc["tables"][0]["new_version"] == 2
    assert json.loads(_rows(home)["stock"]["strategy_options"]) == {"watermark_column": "seq"}
    doc = _json(dl("tables", "disable", "leads", "sales_orders", "--json"))
    assert doc["action"] == "bulk" and [t["table"] for t in doc["tables"]] == [
        "leads", "sales_orders"]
    assert _json(dl("tables", "disable", "leads", "--json"))["tables"] == []
    text = dl("tables", "enable", "leads", "contacts")
    assert text.exit_code == 0 and "Changed 2 table(s)" in text.stdout
    assert {n: r["enabled"] for n, r in _rows(home).items()}["contacts"] == 1
    missing = dl("tables", "enable", "nope")
    assert missing.exit_code == 2 and "nope" in missing.stderr
    rename = dl("tables", "update", "stock", "--set", "name=other")
    assert rename.exit_code == 2 and "renamed" in rename.stderr

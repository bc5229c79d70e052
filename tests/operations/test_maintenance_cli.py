"""The maintenance policy through the CLI's table commands (SQLite home): ``tables add
--maintenance``, ``tables update/bulk-update --set maintenance.KEY=VALUE``, ``tables show``
and ``maintain --set`` on the same stored policy; bad input names the field, changes nothing."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from tests.operations.bulk_support import seeded_cli

Invoke = Callable[..., Result]


@pytest.fixture
def dl(tmp_path: Path) -> Invoke:
    """``dataloader --home HOME ARGS...`` in-process, on an initialised, seeded project."""
    return seeded_cli(tmp_path)


def _policy(dl: Invoke, name: str) -> Any:
    [path] = list(dl.home.rglob("dataloader.db"))  # type: ignore[attr-defined]
    conn = sqlite3.connect(path)
    try:
        [(value,)] = conn.execute("SELECT maintenance FROM table_control WHERE name = ?",
                                  (name,)).fetchall()
    finally:
        conn.close()
    return json.loads(value) if value is not None else None


def test_tables_add_with_a_policy_and_show_it(dl: Invoke) -> None:
    args = ("tables", "add", "clicks", "--source", "erp", "--source-table", "clicks",
            "--target", "bronze.clicks", "--strategy", "full", "--no-check")
    bad = dl(*args, "--maintenance", "compact_min_files=0", "--maintenance", "colour=red")
    assert bad.exit_code == 2
    assert "maintenance.colour" in bad.stderr
    bad = dl(*args, "--maintenance", "compact_min_files=0")
    assert bad.exit_code == 2 and "maintenance.compact_min_files" in bad.stderr
    assert "clicks" in bad.stderr
    added = dl(*args, "--maintenance", "compact_min_files=40", "--maintenance", "enabled=false")
    assert added.exit_code == 0, added.output
    assert _policy(dl, "clicks") == {"compact_min_files": 40, "enabled": False}
    shown = dl("tables", "show", "clicks", "--runs", "0")
    assert '"compact_min_files": 40' in shown.output
    doc = json.loads(dl("tables", "show", "clicks", "--json").stdout)["table"]
    assert doc["maintenance"] == {"enabled": False, "compact_min_files": 40}
    plain = json.loads(dl("tables", "show", "stock", "--json").stdout)["table"]
    assert "maintenance" not in plain  # tables on the defaults: as before
    assert "defaults" in dl("tables", "show", "stock", "--runs", "0").output


def test_tables_update_sets_one_setting_and_is_audited(dl: Invoke) -> None:
    result = dl("tables", "update", "stock", "--set", "maintenance.compact_min_files=40",
                "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["tables"][0]["changes"] == [{"field": "maintenance.compact_min_files",
                                            "kind": "added", "before": None, "after": 40}]
    assert _policy(dl, "stock") == {"compact_min_files": 40}
    audit = json.loads(dl("audit", "--change-set", doc["change_set"], "--json").stdout)
    assert [e["entity"] for e in audit["entries"]] == ["stock"]
    bad = dl("tables", "update", "stock", "--set", "maintenance.vacuum_retention_hours=24")
    assert bad.exit_code == 2 and "allow_short_retention" in bad.stderr
    assert "stock" in bad.stderr
    unknown = dl("tables", "update", "stock", "--set", "maintenance.speed=11")
    assert unknown.exit_code == 2 and "maintenance.speed" in unknown.stderr
    assert _policy(dl, "stock") == {"compact_min_files": 40}
    ok = dl("tables", "update", "stock", "--set", "maintenance.vacuum_retention_hours=24",
            "--set", "maintenance.allow_short_retention=true")
    assert ok.exit_code == 0, ok.output
    assert _policy(dl, "stock") == {"compact_min_files": 40, "vacuum_retention_hours": 24,
                                    "allow_short_retention": True}
    back = dl("tables", "update", "stock", "--set", "maintenance=null")
    assert back.exit_code == 0, back.output
    assert _policy(dl, "stock") is None


def test_bulk_update_and_maintain_set_share_the_policy(dl: Invoke) -> None:
    result = dl("tables", "bulk-update", "--where", "name=sales_*", "--set",
                "maintenance.enabled=false", "--yes", "--json")
    assert result.exit_code == 0, result.output
    assert {_policy(dl, n) == {"enabled": False}
            for n in ("sales_items", "sales_orders", "sales_returns")} == {True}
    assert _policy(dl, "stock") is None
    # `dataloader maintain --set` edits the same stored policy, merged with it.
    done = dl("maintain", "sales_items", "--set", "checkpoint_every=50")
    assert done.exit_code == 0, done.output
    assert _policy(dl, "sales_items") == {"enabled": False, "checkpoint_every": 50}
    doc = json.loads(dl("tables", "show", "sales_items", "--json").stdout)["table"]
    assert doc["maintenance"] == {"enabled": False, "checkpoint_every": 50}
    assert doc["config_version"] == 3  # add, bulk edit, maintain --set

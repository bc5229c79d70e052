"""Target names (issue 17, item 9): stored in lower case, as Unity Catalog does, and one
target per table, compared case-insensitively. Checked against the raw control DB."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from dataloader_sdk.control.store import ControlStore
from dataloader_sdk.errors import ConfigError
from dataloader_sdk.model import SourceConfig, TableConfig, TargetName


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ControlStore]:
    s = ControlStore.open(f"sqlite:///{tmp_path}/dataloader.db")
    s.add_source(SourceConfig(name="src", db_type="sqlalchemy",
                              options={"url": "sqlite:////tmp/none.db"}), actor="t")
    yield s
    s.close()


def _cfg(name: str, target: str) -> TableConfig:
    return TableConfig(name=name, source="src", source_table=name,
                       target=TargetName.parse(target), strategy="full")


def _raw_targets(store: ControlStore) -> dict[str, str]:
    conn = sqlite3.connect(str(store._target.url.database))
    try:
        return dict(conn.execute("SELECT name, target FROM table_control").fetchall())
    finally:
        conn.close()


def test_a_target_is_stored_in_lower_case(store: ControlStore) -> None:
    record = store.add_table(_cfg("orders", "Main.Bronze.Orders"), actor="t")
    assert str(record.config.target) == "main.bronze.orders"
    assert _raw_targets(store) == {"orders": "main.bronze.orders"}


def test_two_tables_may_not_share_a_target_whatever_its_case(store: ControlStore) -> None:
    store.add_table(_cfg("orders", "bronze.orders"), actor="t")
    with pytest.raises(ConfigError, match=r"'orders2'.*already the target of table 'orders'"):
        store.add_table(_cfg("orders2", "Bronze.ORDERS"), actor="t")
    other = store.add_table(_cfg("other", "bronze.other"), actor="t")
    with pytest.raises(ConfigError, match="already the target of table 'orders'"):
        store.update_table(replace(other.config, target=TargetName("bronze", "Orders")),
                           expected_version=other.version, actor="t")
    assert _raw_targets(store) == {"orders": "bronze.orders", "other": "bronze.other"}


def _insert_legacy(store: ControlStore, name: str, target: str) -> None:
    """A row as an earlier version could store it: mixed case, or a duplicate target."""
    conn = sqlite3.connect(str(store._target.url.database))
    with conn:
        row = conn.execute("SELECT * FROM table_control WHERE name = 'seed'").fetchone()
        columns = [d[0] for d in conn.execute("SELECT * FROM table_control").description]
        values = dict(zip(columns, row, strict=True))
        values.update(table_id=None, name=name, target=target, incarnation=name * 2)
        marks = ", ".join("?" for _ in values)
        conn.execute(f"INSERT INTO table_control ({', '.join(values)}) VALUES ({marks})",
                     list(values.values()))
    conn.close()


def test_existing_duplicates_open_and_are_reported_when_touched(store: ControlStore) -> None:
    store.add_table(_cfg("seed", "bronze.seed"), actor="t")
    _insert_legacy(store, "a", "Bronze.Shared")
    _insert_legacy(store, "b", "bronze.shared")
    # Opening and listing still work.
    assert {t.name for t in store.list_tables()} == {"seed", "a", "b"}
    a = store.get_table("a")
    assert str(a.config.target) == "Bronze.Shared"  # kept as stored
    with pytest.raises(ConfigError, match=r"'a'.*already the target of table 'b'"):
        store.update_table(replace(a.config, priority=5), expected_version=a.version,
                           actor="t")
    # Moving one of them to its own target resolves it.
    store.update_table(replace(a.config, target=TargetName("bronze", "Shared_A")),
                       expected_version=a.version, actor="t")
    assert _raw_targets(store)["a"] == "bronze.shared_a"


def test_an_unchanged_legacy_mixed_case_target_is_kept(store: ControlStore) -> None:
    store.add_table(_cfg("seed", "bronze.seed"), actor="t")
    _insert_legacy(store, "legacy", "Bronze.Legacy")
    rec = store.get_table("legacy")
    store.update_table(replace(rec.config, priority=7), expected_version=rec.version, actor="t")
    assert _raw_targets(store)["legacy"] == "Bronze.Legacy"

"""Clustering: a merged table is rewritten Z-ordered by its merge keys, so a merge of
recent keys rewrites a few files instead of the whole table (docs/maintenance.md).

Interleaved with loads and crashes: tests/conformance/test_maintenance.py.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sqlite3
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from dataloader_sdk.config import Settings
from dataloader_sdk.control.maintenance import (
    CLUSTER_MIN_FILE_BYTES,
    cluster_file_bytes,
    get_settings,
    merge_keys,
    plan,
    set_policy,
)
from dataloader_sdk.engines.base import TableFiles
from dataloader_sdk.engines.common.sizes import TARGET_FILE_SIZE
from dataloader_sdk.errors import ValidationError
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.maintenance import maintain_table
from dataloader_sdk.model import SourceConfig, TableConfig, TargetName, utcnow
from dataloader_sdk.model.maintenance import MaintenancePolicy, MaintenanceState
from dataloader_sdk.plugins import PluginHost

NOW = utcnow()
TARGET = TargetName("bronze", "orders")
BIG = 64 * CLUSTER_MIN_FILE_BYTES  # a table worth clustering


# -- what is due ----------------------------------------------------------------------

def test_merge_keys_come_from_the_strategy_or_the_one_it_wraps() -> None:
    assert merge_keys("incremental", {"primary_keys": ["id", "region"]}) == ("id", "region")
    assert merge_keys("incremental", {"primary_keys": "id"}) == ("id",)
    assert merge_keys("check_and_load", {"load": "incremental",
                                         "load_options": {"primary_keys": ["k"]}}) == ("k",)
    assert merge_keys("chunked_backfill", {"then": "incremental",
                                           "then_options": {"primary_keys": ["k"]}}) == ("k",)
    # Loads that replace the table, or append, gain nothing from clustering.
    assert merge_keys("full", {"primary_keys": ["id"]}) == ()
    assert merge_keys("check_and_load", {"load": "full",
                                         "load_options": {"primary_keys": ["id"]}}) == ()
    assert merge_keys("append_only", {"watermark_column": "id"}) == ()
    assert merge_keys("incremental", {"primary_keys": [1]}) == ()


def test_clustering_is_due_every_so_many_commits_on_a_merged_table() -> None:
    policy = MaintenancePolicy(cluster_every_commits=50)
    keys = ("id",)
    never = MaintenanceState()
    assert not plan(policy, never, TableFiles(48, 3, 3, BIG), NOW, keys=keys).cluster_by
    due = plan(policy, never, TableFiles(49, 3, 3, BIG), NOW, keys=keys)  # 50 commits: 0..49
    assert due.cluster_by == keys and due.target_file_bytes == cluster_file_bytes(BIG)
    done = MaintenanceState(clustered_version=49)
    assert not plan(policy, done, TableFiles(98, 3, 3, BIG), NOW, keys=keys).cluster_by
    assert plan(policy, done, TableFiles(99, 3, 3, BIG), NOW, keys=keys).cluster_by == keys
    # No keys (an append or a full load), too small to split, or turned off: never.
    assert not plan(policy, never, TableFiles(99, 3, 3, BIG), NOW).cluster_by
    small = 2 * CLUSTER_MIN_FILE_BYTES
    assert not plan(policy, never, TableFiles(99, 1, 1, small), NOW, keys=keys).cluster_by
    off = MaintenancePolicy(cluster=False)
    assert not plan(off, never, TableFiles(999, 3, 3, BIG), NOW, keys=keys,
                    force=True).cluster_by


def test_a_table_over_the_size_limit_is_clustered_only_when_forced() -> None:
    policy = MaintenancePolicy(cluster_max_bytes=BIG - 1)
    files = TableFiles(500, 3, 3, BIG)
    assert not plan(policy, MaintenanceState(), files, NOW, keys=("id",)).cluster_by
    assert plan(policy, MaintenanceState(), files, NOW, keys=("id",), force=True).cluster_by


def test_a_clustered_table_is_never_compacted() -> None:
    # Compaction's unordered rewrite would undo the clustering; the next one rewrites the
    # small files too.
    policy = MaintenancePolicy(compact_min_files=3)
    files = TableFiles(version=10, files=30, small_files=30, bytes=BIG)
    assert plan(policy, MaintenanceState(), files, NOW).compact
    clustered = plan(policy, MaintenanceState(clustered_version=5), files, NOW, keys=("id",))
    assert not clustered.compact and not clustered.cluster_by


def test_cluster_file_size_aims_at_a_few_files_within_bounds() -> None:
    assert cluster_file_bytes(1) == CLUSTER_MIN_FILE_BYTES
    assert cluster_file_bytes(80 << 20) == 10 << 20
    assert cluster_file_bytes(1 << 40) == TARGET_FILE_SIZE


def test_bad_cluster_settings_are_named() -> None:
    with pytest.raises(ValidationError) as info:
        MaintenancePolicy.from_json({"cluster": "yes", "cluster_every_commits": 0,
                                     "cluster_max_bytes": -1}, table="orders")
    text = str(info.value)
    for name in ("maintenance.cluster", "maintenance.cluster_every_commits",
                 "maintenance.cluster_max_bytes"):
        assert name in text


# -- delta-rs ---------------------------------------------------------------------------

def _files(uri: str) -> list[dict[str, object]]:
    actions = pa.table(DeltaTable(uri).get_add_actions(flatten=True))
    return sorted(actions.select(["path", "num_records", "min.id", "max.id"]).to_pylist(),
                  key=lambda a: (a["min.id"], a["max.id"]))


def _noise(i: int) -> str:
    """Text that compresses little, so the table is big enough to cluster once its files
    are compressed (CLUSTER_MIN_FILE_BYTES applies to the files' bytes)."""
    return hashlib.sha256(str(i).encode()).hexdigest()


@pytest.fixture
def loader(tmp_path: Path) -> DataLoader:
    db = tmp_path / "source.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, payload TEXT, seq INTEGER)")
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?)",
                         ((i, f"payload-{i:08d}-" + _noise(i), i) for i in range(1, 60_001)))
    loader = DataLoader.from_settings(Settings.default(tmp_path), host=PluginHost())
    loader.add_source(SourceConfig(name="src", db_type="sqlalchemy",
                                   options={"url": f"sqlite:///{db}"}), actor="test")
    loader.add_table(TableConfig(
        name="orders", source="src", source_table="orders", target=TARGET,
        strategy="incremental",
        strategy_options={"primary_keys": ["id"], "watermark_column": "seq"}), actor="test")
    return loader


def _change(loader: DataLoader, ids: list[int]) -> None:
    db = Path(str(loader.store.get_source("src").options["url"]).removeprefix("sqlite:///"))
    with sqlite3.connect(db) as conn:
        seq = conn.execute("SELECT MAX(seq) FROM orders").fetchone()[0]
        for offset, key in enumerate(ids, start=1):
            conn.execute("UPDATE orders SET payload = 'changed', seq = ? WHERE id = ?",
                         (seq + offset, key))


def _source(loader: DataLoader) -> list[tuple[int, str, int]]:
    db = Path(str(loader.store.get_source("src").options["url"]).removeprefix("sqlite:///"))
    with sqlite3.connect(db) as conn:
        return sorted(conn.execute("SELECT id, payload, seq FROM orders"))


def _target(loader: DataLoader) -> list[tuple[int, str, int]]:
    table = loader.engine.read(TARGET)
    return sorted(zip(table["id"].to_pylist(), table["payload"].to_pylist(),
                      table["seq"].to_pylist(), strict=True))


def test_clustering_sorts_the_files_and_a_merge_then_rewrites_only_its_keys_file(
    loader: DataLoader,
) -> None:
    try:
        set_policy(loader.store, "orders", MaintenancePolicy(enabled=False), actor="t", now=NOW)
        assert loader.load_table("orders").status == "succeeded"
        uri = loader.engine.uri(TARGET)  # type: ignore[attr-defined]
        assert len(_files(uri)) == 1  # one load: one file, which every merge rewrites
        newest = loader.engine.newest_commit(TARGET)
        report = maintain_table(loader.store, loader.engine, "orders")
        assert report.status == "done" and report.outcome is not None, report
        assert report.outcome.clustered_version == 1
        assert any(r.startswith("cluster: by id") for r in report.reasons)
        files = _files(uri)
        assert len(files) >= 3
        for left, right in itertools.pairwise(files):  # disjoint, in key order
            assert left["max.id"] < right["min.id"]  # type: ignore[operator]
        log = Path(uri) / "_delta_log" / f"{1:020d}.json"
        actions = [json.loads(line) for line in log.read_text().splitlines()]
        assert actions[0]["commitInfo"]["operation"] == "OPTIMIZE"
        assert all(a[k]["dataChange"] is False for a in actions[1:] for k in a
                   if k in ("add", "remove"))
        assert loader.engine.newest_commit(TARGET) == newest  # no load commit hidden
        assert _target(loader) == _source(loader)
        assert get_settings(loader.store, "orders").state.clustered_version == 1
        # The point: a merge of two recent keys rewrites the one file holding them.
        _change(loader, [59_990, 59_999])
        run = loader.load_table("orders")
        assert run.status == "succeeded" and run.rows_written == 2
        log = Path(uri) / "_delta_log" / f"{2:020d}.json"
        removed = [a for line in log.read_text().splitlines()
                   if "remove" in (a := json.loads(line))]
        assert len(removed) == 1 and len(_files(uri)) == len(files)
        assert _target(loader) == _source(loader)
    finally:
        loader.close()


def test_the_hook_after_loads_clusters_when_due(loader: DataLoader) -> None:
    try:
        set_policy(loader.store, "orders", MaintenancePolicy(cluster_every_commits=5),
                   actor="t", now=NOW)
        for run in range(10):  # versions 0..9; the hook looks at version 10
            _change(loader, [60_000 - run])
            assert loader.load_table("orders").status == "succeeded"
        assert get_settings(loader.store, "orders").state.clustered_version is None
        _change(loader, [1])
        assert loader.load_table("orders").status == "succeeded"
        state = get_settings(loader.store, "orders").state
        assert state.clustered_version == 11 and state.last_error is None
        assert len(_files(loader.engine.uri(TARGET))) >= 3  # type: ignore[attr-defined]
        assert _target(loader) == _source(loader)
    finally:
        loader.close()

"""Table maintenance: the policy, what is due, the delta-rs path, the hook after loads
and ``dataloader maintain``. Crashes and interleaving: tests/conformance/test_maintenance.py."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from dataloader_sdk import orchestration
from dataloader_sdk.cli import main
from dataloader_sdk.config import Settings
from dataloader_sdk.control.maintenance import get_settings, plan, set_policy
from dataloader_sdk.engines.base import MaintenanceTask, TableFiles
from dataloader_sdk.engines.delta_rs import DeltaRsEngine
from dataloader_sdk.errors import DestinationError, ValidationError
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.maintenance import CHECK_EVERY_COMMITS, maintain_table
from dataloader_sdk.model import SourceConfig, TableConfig, TargetName, utcnow
from dataloader_sdk.model.maintenance import MaintenancePolicy, MaintenanceState
from dataloader_sdk.plugins import PluginHost

TARGET = TargetName("bronze", "events")
NOW = utcnow()


# -- the policy ----------------------------------------------------------------------

def test_policy_defaults_are_sane_and_stored_as_nothing() -> None:
    policy = MaintenancePolicy.from_json(None, table="t")
    assert policy == MaintenancePolicy()
    assert policy.vacuum_retention_hours == 168 and not policy.allow_short_retention
    assert policy.problems() == [] and policy.to_json() == {}
    assert MaintenancePolicy.from_json({"compact_min_files": 5}, table="t").to_json() == {
        "compact_min_files": 5}


def test_bad_policy_names_every_field() -> None:
    with pytest.raises(ValidationError) as info:
        MaintenancePolicy.from_json({"compact_min_files": 0, "checkpoint_every": "10",
                                     "enabled": "yes", "bogus": 1}, table="orders")
    text = str(info.value)
    assert "orders" in text
    for name in ("maintenance.compact_min_files", "maintenance.checkpoint_every",
                 "maintenance.enabled", "maintenance.bogus"):
        assert name in text


def test_short_retention_needs_the_explicit_override() -> None:
    with pytest.raises(ValidationError, match="allow_short_retention"):
        MaintenancePolicy.from_json({"vacuum_retention_hours": 24}, table="t")
    policy = MaintenancePolicy.from_json(
        {"vacuum_retention_hours": 24, "allow_short_retention": True}, table="t")
    task = plan(policy, MaintenanceState(), TableFiles(1, 1, 0, 1), NOW)
    assert task.retention_hours == 24 and task.enforce_retention is False
    # The default retention is enforced even when the override is set.
    task = plan(MaintenancePolicy(allow_short_retention=True), MaintenanceState(),
                TableFiles(1, 1, 0, 1), NOW)
    assert task.enforce_retention is True


def test_what_is_due() -> None:
    policy = MaintenancePolicy(compact_min_files=3, checkpoint_every=10, vacuum_every_hours=24)
    fresh = MaintenanceState(checkpoint_version=5, vacuumed_at=NOW - timedelta(hours=1))
    quiet = plan(policy, fresh, TableFiles(version=14, files=9, small_files=3, bytes=1), NOW)
    assert (quiet.compact, quiet.checkpoint, quiet.vacuum) == (False, False, False)
    busy = plan(policy, fresh, TableFiles(version=15, files=9, small_files=4, bytes=1),
                NOW + timedelta(hours=23))
    assert (busy.compact, busy.checkpoint, busy.vacuum) == (True, True, True)
    forced = plan(policy, fresh, TableFiles(14, 2, 2, 1), NOW, force=True)
    assert (forced.compact, forced.checkpoint, forced.vacuum) == (True, True, True)
    assert plan(policy, MaintenanceState(), TableFiles(0, 1, 1, 1), NOW).vacuum  # never: due


# -- delta-rs, the hook after loads, the CLI -----------------------------------------

@pytest.fixture
def home(tmp_path: Path) -> Path:
    source = tmp_path / "source.db"
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)")
    Settings.default(tmp_path).write()
    loader = DataLoader.from_settings(Settings.default(tmp_path), host=PluginHost())
    loader.add_source(SourceConfig(name="src", db_type="sqlalchemy",
                                   options={"url": f"sqlite:///{source}"}), actor="test")
    loader.add_table(TableConfig(name="events", source="src", source_table="events",
                                 target=TARGET, strategy="append_only",
                                 strategy_options={"watermark_column": "id"}), actor="test")
    loader.close()
    return tmp_path


def add_rows(home: Path, n: int) -> None:
    with sqlite3.connect(home / "source.db") as conn:
        start = conn.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0] + 1
        conn.executemany("INSERT INTO events VALUES (?, ?)",
                         [(i, f"e{i}") for i in range(start, start + n)])


def source_ids(home: Path) -> list[int]:
    with sqlite3.connect(home / "source.db") as conn:
        return [r[0] for r in conn.execute("SELECT id FROM events ORDER BY id")]


def loads(loader: DataLoader, home: Path, runs: int) -> None:
    for _ in range(runs):
        add_rows(home, 3)
        assert loader.load_table("events").status == "succeeded"


def opened(home: Path, engine: DeltaRsEngine | None = None) -> DataLoader:
    settings = Settings.default(home)
    if engine is None:
        return DataLoader.from_settings(settings, host=PluginHost())
    return DataLoader(settings.open_store(), engine, host=PluginHost())


def test_compaction_is_data_change_free_and_keeps_the_load_commit(home: Path) -> None:
    loader = opened(home)
    try:
        set_policy(loader.store, "events", MaintenancePolicy(enabled=False), actor="t",
                   now=NOW)
        loads(loader, home, 5)
        engine = loader.engine
        newest = engine.newest_commit(TARGET)
        assert newest is not None
        recorded = engine.recorded_version(TARGET, newest.app_id)
        report = maintain_table(loader.store, engine, "events")
        assert report.status == "done" and report.outcome is not None
        assert report.outcome.files_removed == 5 and report.outcome.files_added == 1
        log_dir = Path(engine.uri(TARGET)) / "_delta_log"  # type: ignore[attr-defined]
        optimize = [json.loads(line) for line in
                    (log_dir / f"{5:020d}.json").read_text().splitlines()]
        assert optimize[0]["commitInfo"]["operation"] == "OPTIMIZE"
        assert all(a[k]["dataChange"] is False for a in optimize[1:] for k in a
                   if k in ("add", "remove"))
        assert engine.newest_commit(TARGET) == newest
        assert engine.last_commit(TARGET, newest.app_id) == newest
        assert engine.recorded_version(TARGET, newest.app_id) == recorded
        assert sorted(engine.read(TARGET)["id"].to_pylist()) == source_ids(home)
        state = get_settings(loader.store, "events").state
        assert state.compacted_at is not None and state.checkpoint_version is not None
        assert (log_dir / f"{5:020d}.checkpoint.parquet").exists()
        loads(loader, home, 1)  # the next load replays nothing and duplicates nothing
        assert sorted(engine.read(TARGET)["id"].to_pylist()) == source_ids(home)
    finally:
        loader.close()


def test_hook_after_loads_compacts_when_due(home: Path) -> None:
    loader = opened(home)
    try:
        set_policy(loader.store, "events", MaintenancePolicy(compact_min_files=4), actor="t",
                   now=NOW)
        loads(loader, home, CHECK_EVERY_COMMITS)  # versions 0..9: not checked yet
        assert get_settings(loader.store, "events").state.maintained_at is None
        loads(loader, home, 1)  # version 10 crosses the multiple
        state = get_settings(loader.store, "events").state
        assert state.compacted_at is not None and state.last_error is None
        files = loader.engine.table_files(TARGET, 8 << 20)  # type: ignore[attr-defined]
        assert files.files == 1
        assert sorted(loader.engine.read(TARGET)["id"].to_pylist()) == source_ids(home)
    finally:
        loader.close()


def test_the_state_keeps_the_version_the_checkpoint_was_written_at(home: Path) -> None:
    loader = opened(home)
    try:
        set_policy(loader.store, "events", MaintenancePolicy(enabled=False), actor="t",
                   now=NOW)
        loads(loader, home, 3)
        report = maintain_table(loader.store, loader.engine, "events")
        assert report.outcome is not None and report.outcome.checkpointed
        log_dir = Path(loader.engine.uri(TARGET)) / "_delta_log"  # type: ignore[attr-defined]
        written = json.loads((log_dir / "_last_checkpoint").read_text())["version"]
        assert report.outcome.checkpoint_version == written
        assert get_settings(loader.store, "events").state.checkpoint_version == written
    finally:
        loader.close()


class BrokenMaintenance(DeltaRsEngine):
    """A real delta-rs engine whose maintenance fails (the loads work)."""

    def maintain(self, target: TargetName, task: MaintenanceTask) -> object:  # type: ignore[override]
        raise DestinationError(f"table {target}: compaction failed: disk on fire")


def test_a_maintenance_failure_never_fails_the_load(home: Path) -> None:
    settings = Settings.default(home)
    from dataloader_sdk.engines.base import EngineSettings

    loader = opened(home, BrokenMaintenance(EngineSettings(root=settings.delta_root)))
    try:
        set_policy(loader.store, "events", MaintenancePolicy(compact_min_files=1), actor="t",
                   now=NOW)
        loads(loader, home, CHECK_EVERY_COMMITS + 1)  # every load succeeded (asserted)
        state = get_settings(loader.store, "events").state
        assert state.last_error is not None and "disk on fire" in state.last_error
        assert loader.store.get_table("events").status == "succeeded"
        assert sorted(loader.engine.read(TARGET)["id"].to_pylist()) == source_ids(home)
    finally:
        loader.close()


def test_set_policy_refuses_bad_input_and_changes_nothing(home: Path) -> None:
    loader = opened(home)
    try:
        with pytest.raises(ValidationError, match=r"maintenance\.small_file_bytes"):
            set_policy(loader.store, "events", MaintenancePolicy(small_file_bytes=0),
                       actor="t", now=NOW)
        assert get_settings(loader.store, "events").policy == MaintenancePolicy()
        set_policy(loader.store, "events", MaintenancePolicy(checkpoint_every=7), actor="t",
                   now=NOW)
        assert get_settings(loader.store, "events").policy.checkpoint_every == 7
        assert any(e.after == {"maintenance": {"checkpoint_every": 7}}
                   for e in loader.store.audit_log("events"))
    finally:
        loader.close()


def cli(home: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--home", str(home), *args])
    return result.exit_code, result.output


def test_cli_maintain(home: Path) -> None:
    loader = opened(home)
    loads(loader, home, 3)
    loader.close()
    code, out = cli(home, "maintain")
    assert code == 2 and "--due" in out
    code, out = cli(home, "maintain", "nope")
    assert code == 2 and "nope" in out
    code, out = cli(home, "maintain", "events", "--dry-run", "--json")
    assert code == 0, out
    report = json.loads(out)["tables"][0]
    assert report["status"] == "dry_run" and report["task"]["compact"] is True
    assert report["files"] == 3
    code, out = cli(home, "maintain", "events", "--json")
    assert code == 0, out
    report = json.loads(out)["tables"][0]
    assert report["status"] == "done" and report["outcome"]["files_removed"] == 3
    code, out = cli(home, "maintain", "--due", "--json")
    assert code == 0 and json.loads(out)["tables"][0]["status"] == "nothing_due"
    code, out = cli(home, "maintain", "events", "--set", "vacuum_retention_hours=24")
    assert code == 2 and "allow_short_retention" in out
    code, out = cli(home, "maintain", "events", "--set", "compact_min_files=5",
                    "--set", "enabled=false")
    assert code == 0 and "compact_min_files" in out
    loader = opened(home)
    try:
        policy = get_settings(loader.store, "events").policy
        assert policy == MaintenancePolicy(compact_min_files=5, enabled=False)
        reports = orchestration.run_maintenance(loader)  # due only: disabled is skipped
        assert [r.status for r in reports] == ["skipped"]
    finally:
        loader.close()
    code, out = cli(home, "maintain", "events", "--reset-policy")
    assert code == 0 and "defaults" in out

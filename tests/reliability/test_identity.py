"""Delta identity: environments, resets and re-added tables never adopt another's commits.

Issue #9, findings 2 and 2b. Each test fails on the code before the fix: commits carried
the app id ``dataloader_sdk:<table_id>``, both environments wrote one Delta root, and
reconcile rolled forward from any commit with that id.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from dataloader_sdk.cli import main
from dataloader_sdk.errors import ForeignCommitError
from tests.reliability._home import (
    TARGET,
    make_source,
    open_loader,
    register,
    source_ids,
    target_ids,
)


def test_environments_write_separate_delta_tables_by_default(tmp_path: Path) -> None:
    source = tmp_path / "src.db"
    make_source(source, range(1, 6))
    home = tmp_path / "home"
    test_env = open_loader(home, environment="dataloader_test")
    prod = open_loader(home, environment="dataloader")
    try:
        register(test_env, source)
        register(prod, source)
        assert test_env.load_table("orders").rows_read == 5  # pre-prod loads first
        make_source(source, range(6, 9))
        run = prod.load_table("orders")
        # Before the fix prod "repaired" its state from pre-prod's commit and read 0 rows.
        assert run.rows_read == 8
        assert target_ids(prod) == source_ids(source)
        assert target_ids(test_env) == list(range(1, 6))
        assert (home / ".dataloader/delta/dataloader").is_dir()
        assert (home / ".dataloader/delta/dataloader_test").is_dir()
    finally:
        test_env.close()
        prod.close()


def test_a_shared_delta_root_is_refused_naming_both_control_dbs(tmp_path: Path) -> None:
    source = tmp_path / "src.db"
    make_source(source, range(1, 6))
    home = tmp_path / "home"
    home.mkdir()
    # An older home: one explicit root for both environments.
    (home / "dataloader.toml").write_text(f'delta_root = "{home / "shared"}"\n')
    test_env = open_loader(home, environment="dataloader_test")
    prod = open_loader(home, environment="dataloader")
    try:
        register(test_env, source)
        register(prod, source)
        test_env.load_table("orders")
        with pytest.raises(ForeignCommitError) as info:
            prod.load_table("orders")
        message = str(info.value)
        assert "'dataloader_test'" in message and "'dataloader'" in message
        assert test_env.store.control_id in message and prod.store.control_id in message
        assert target_ids(prod) == list(range(1, 6))  # nothing written by prod
        assert prod.store.get_table("orders").state.watermark is None
    finally:
        test_env.close()
        prod.close()


def test_commits_carry_environment_and_control_id(tmp_path: Path) -> None:
    source = tmp_path / "src.db"
    make_source(source, range(1, 4))
    loader = open_loader(tmp_path / "home")
    try:
        register(loader, source)
        loader.load_table("orders")
        newest = loader.engine.newest_commit(TARGET)
        assert newest is not None
        assert newest.environment == "dataloader"
        assert newest.control_id == loader.store.control_id
        incarnation = loader.store.get_table("orders").incarnation
        assert newest.app_id.endswith(f":{loader.store.control_id}:{incarnation}")
    finally:
        loader.close()


@pytest.mark.parametrize("strategy", ["append_only", "incremental"])
def test_reset_starts_over_and_replaces_stale_rows(tmp_path: Path, strategy: str) -> None:
    source = tmp_path / "src.db"
    make_source(source, range(1, 11))
    loader = open_loader(tmp_path / "home")
    options: dict[str, object] = {"watermark_column": "seq"}
    if strategy == "incremental":
        options["primary_keys"] = ["id"]
    try:
        register(loader, source, strategy=strategy, options=options)
        loader.load_table("orders")
        with sqlite3.connect(source) as conn:  # rows deleted at the source ...
            conn.execute("DELETE FROM orders WHERE id <= 3")
        conn.close()
        before = loader.store.get_table("orders").incarnation
        loader.reset_table("orders", actor="t")
        assert loader.store.get_table("orders").incarnation != before
        run = loader.load_table("orders")
        # ... are gone after the reset's reload, which read everything (not only new rows)
        assert run.rows_read == 7
        assert target_ids(loader) == source_ids(source)
        make_source(source, range(11, 13))  # and the table goes on incrementally
        assert loader.load_table("orders").rows_read >= 2
        assert target_ids(loader) == source_ids(source)
    finally:
        loader.close()


def test_remove_then_add_with_another_cursor_type_starts_over(tmp_path: Path) -> None:
    source = tmp_path / "src.db"
    make_source(source, range(1, 6))
    with sqlite3.connect(source) as conn:
        conn.execute("ALTER TABLE orders ADD COLUMN at DATETIME")
        conn.execute("UPDATE orders SET at = '2024-01-0' || id || ' 10:00:00'")
    conn.close()
    loader = open_loader(tmp_path / "home")
    try:
        register(loader, source)  # append_only on the integer seq
        loader.load_table("orders")
        loader.store.remove_table("orders", actor="t")
        register(loader, source, strategy="incremental",
                 options={"watermark_column": "at", "primary_keys": ["id"]})
        # Before the fix SQLite reused the table id, the new table inherited the old
        # integer watermark from the Delta commit and every run failed on its type.
        run = loader.load_table("orders")
        assert run.status == "succeeded"
        assert run.rows_read == 5
        assert target_ids(loader) == source_ids(source)
    finally:
        loader.close()


def test_cli_reset_drop_target_deletes_the_delta_table(tmp_path: Path) -> None:
    source = tmp_path / "src.db"
    make_source(source, range(1, 4))
    home = tmp_path / "home"
    loader = open_loader(home)
    try:
        register(loader, source)
        loader.load_table("orders")
        table_dir = Path(loader.engine.uri(TARGET))  # type: ignore[attr-defined]
        assert table_dir.is_dir()
    finally:
        loader.close()
    runner = CliRunner()
    refused = runner.invoke(main, ["--home", str(home), "tables", "reset", "orders",
                                   "--drop-target"], input="n\n")
    assert refused.exit_code != 0 and table_dir.is_dir()  # asked, and "no" kept it
    result = runner.invoke(main, ["--home", str(home), "tables", "reset", "orders",
                                  "--drop-target", "--yes"])
    assert result.exit_code == 0, result.output
    assert not table_dir.exists()
    assert "deleted its Delta table" in result.output
    loader = open_loader(home)
    try:
        assert loader.load_table("orders").rows_read == 3
        assert target_ids(loader) == source_ids(source)
    finally:
        loader.close()


def test_an_older_home_moves_onto_per_environment_roots(tmp_path: Path) -> None:
    source = tmp_path / "src.db"
    make_source(source, range(1, 6))
    home = tmp_path / "home"
    home.mkdir()
    shared = home / ".dataloader" / "delta"
    (home / "dataloader.toml").write_text(f'delta_root = "{shared}"\n')  # a pre-0.2 home
    prod = open_loader(home, environment="dataloader")
    test_env = open_loader(home, environment="dataloader_test")
    try:
        register(prod, source)
        register(test_env, source)
        prod.load_table("orders")
    finally:
        prod.close()
        test_env.close()
    runner = CliRunner()
    dry = runner.invoke(main, ["--home", str(home), "upgrade-home", "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    assert (shared / "bronze" / "orders" / "_delta_log").is_dir()  # dry run moved nothing
    done = runner.invoke(main, ["--home", str(home), "upgrade-home"])
    assert done.exit_code == 0, done.output
    assert (shared / "dataloader" / "bronze" / "orders" / "_delta_log").is_dir()
    assert "{environment}" in (home / "dataloader.toml").read_text()
    again = runner.invoke(main, ["--home", str(home), "upgrade-home"])
    assert "Nothing to do" in again.output
    make_source(source, range(6, 8))
    prod = open_loader(home, environment="dataloader")
    test_env = open_loader(home, environment="dataloader_test")
    try:
        assert prod.load_table("orders").rows_read == 2  # prod goes on from its watermark
        assert target_ids(prod) == source_ids(source)
        assert test_env.load_table("orders").rows_read == 7  # test starts over, own table
        assert target_ids(test_env) == source_ids(source)
    finally:
        prod.close()
        test_env.close()

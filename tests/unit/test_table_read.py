"""The table's read path setting (``model/read.py``): validation, storage, edits, CLI.

Defaults keep today's behaviour exactly: a table that sets nothing stores ``NULL`` and
shows no ``read`` anywhere (JSON, exports, diffs).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from dataloader_sdk.cli import main
from dataloader_sdk.control.config_diff import table_from_json, table_json
from dataloader_sdk.control.store import ControlStore
from dataloader_sdk.errors import ValidationError
from dataloader_sdk.model import TableConfig, TableRead, TargetName
from dataloader_sdk.model.operations import TableChanges, config_to_json

JDBC = TableRead(path="jdbc", partition_column="id", partitions=4, fetch_size=500)


def _table(read: TableRead | None = None) -> TableConfig:
    return TableConfig(name="orders", source="erp", target=TargetName("bronze", "orders"),
                       source_table="orders", read=read or TableRead())


def _fields(read: TableRead) -> list[str]:
    return [p.field for p in read.problems()]


def test_defaults_are_stored_as_nothing() -> None:
    assert TableRead().is_default and TableRead().to_json() is None
    assert config_to_json(_table())["read"] is None
    assert "read" not in {k for k, v in table_json(_table()).items() if v is not None}
    assert TableRead.from_json(None) == TableRead()
    assert _table().problems() == []


def test_jdbc_settings_round_trip() -> None:
    assert JDBC.to_json() == {"path": "jdbc", "partition_column": "id", "partitions": 4,
                              "fetch_size": 500}
    assert TableRead.from_json(JDBC.to_json()) == JDBC
    assert table_from_json("orders", table_json(_table(JDBC))).read == JDBC
    assert TableRead(path="jdbc", partition_column="id").jdbc_partitions == 8


@pytest.mark.parametrize(("read", "fields"), [
    (TableRead(path="jdbc"), ["read.partition_column"]),
    (TableRead(path="jdbc", partition_column="id", partitions=0), ["read.partitions"]),
    (TableRead(path="jdbc", partition_column="id", fetch_size=-1), ["read.fetch_size"]),
    (TableRead(path="jdbc", partition_column="id", partitions=True), ["read.partitions"]),
    (TableRead(path="odbc"), ["read.path"]),  # type: ignore[arg-type]
    (TableRead(partition_column="id"), ["read.partition_column"]),
    (TableRead(path="jdbc", partition_column="a\nb"), ["read.partition_column"]),
], ids=["no-column", "zero-partitions", "bad-fetch", "bool", "unknown-path",
        "column-without-jdbc", "bad-identifier"])
def test_bad_settings_name_the_field(read: TableRead, fields: list[str]) -> None:
    assert _fields(read) == fields
    problems = _table(read).problems()
    assert [p.field for p in problems] == fields
    assert all(p.problem for p in problems)


def test_from_json_refuses_unknown_keys_and_non_objects() -> None:
    with pytest.raises(ValidationError, match=r"read\.partition"):
        TableRead.from_json({"path": "jdbc", "partition": "id"})
    with pytest.raises(ValidationError, match="must be an object"):
        TableRead.from_json("jdbc")


def test_edits_set_one_read_setting_or_all() -> None:
    changed, problems = TableChanges({"read.path": "jdbc", "read.partition_column": "id"}
                                     ).apply(_table())
    assert problems == [] and changed.read == TableRead(path="jdbc", partition_column="id")
    again, _ = TableChanges({"read.partitions": 16}).apply(changed)
    assert again.read.partitions == 16 and again.read.partition_column == "id"
    whole, _ = TableChanges({"read": None}).apply(again)
    assert whole.read.is_default
    assert [p.field for p in TableChanges({"read.bogus": 1}).problems()] == ["read.bogus"]
    bad, _ = TableChanges({"read.partitions": 0}).apply(changed)
    assert "read.partitions" in [p.field for p in bad.problems()]


def test_the_control_db_stores_the_setting(tmp_path: Path) -> None:
    from dataloader_sdk.model import SourceConfig

    store = ControlStore.open(f"sqlite:///{tmp_path / 'control.db'}")
    try:
        store.add_source(SourceConfig(name="erp", db_type="sqlite", options={"path": "x"}),
                         actor="t")
        store.add_table(_table(JDBC), actor="t")
        assert store.get_table("orders").config.read == JDBC
        store.update_table(_table(), expected_version=1, actor="t")
        assert store.get_table("orders").config.read == TableRead()
    finally:
        store.close()


def _cli(home: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)


def test_cli_adds_and_shows_a_jdbc_table(tmp_path: Path) -> None:
    import sqlite3

    source = tmp_path / "source.db"
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, name TEXT)")
    conn.close()
    home = tmp_path / "home"
    home.mkdir()
    assert _cli(home, "init").exit_code == 0
    assert _cli(home, "sources", "add", "local", "--db-type", "sqlalchemy", "--option",
                f"url=sqlite:///{source}").exit_code == 0
    base = ["tables", "add", "orders", "--source", "local", "--source-table", "orders",
            "--target", "bronze.orders", "--strategy", "full"]
    refused = _cli(home, *base, "--read-path", "jdbc", "--partitions", "0")
    assert refused.exit_code == 2
    assert "read.partition_column" in refused.stderr and "read.partitions" in refused.stderr
    # The source is asked: its connector must declare JDBC, and have the column.
    missing = _cli(home, *base, "--read-path", "jdbc", "--partition-column", "nope")
    assert missing.exit_code == 2
    assert "read.path" in missing.stderr and "declares no JDBC capability" in missing.stderr
    assert "'nope' does not exist" in missing.stderr
    assert "orders" not in _cli(home, "tables", "list").output
    # --no-check stores it anyway (the run refuses it before reading, see tests/spark).
    added = _cli(home, *base, "--read-path", "jdbc", "--partition-column", "id",
                 "--partitions", "3", "--fetch-size", "100", "--no-check")
    assert added.exit_code == 0, added.output
    shown = _cli(home, "tables", "show", "orders").output
    assert '"path": "jdbc"' in shown and '"partitions": 3' in shown
    assert _cli(home, "tables", "update", "orders", "--set", "read.partitions=5",
                ).exit_code == 0
    assert '"partitions": 5' in _cli(home, "tables", "show", "orders").output


def test_a_run_refuses_jdbc_without_the_capabilities_before_reading(tmp_path: Path) -> None:
    import sqlite3

    from dataloader_sdk.engines.base import EngineSettings
    from dataloader_sdk.engines.delta_rs import DeltaRsEngine
    from dataloader_sdk.loader import DataLoader
    from dataloader_sdk.model import SourceConfig

    source = tmp_path / "source.db"
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO orders VALUES (1, 'a')")
    conn.close()
    engine = DeltaRsEngine(EngineSettings(str(tmp_path / "delta")))
    loader = DataLoader(ControlStore.open(f"sqlite:///{tmp_path / 'control.db'}"), engine)
    try:
        loader.add_source(SourceConfig(name="erp", db_type="sqlalchemy",
                                       options={"url": f"sqlite:///{source}"}), actor="t")
        loader.add_table(_table(TableRead(path="jdbc", partition_column="id")), actor="t")
        record = loader.load_table("orders", raise_on_error=False)
        assert (record.status, record.error_class) == ("failed", "ValidationError")
        message = record.error_message or ""
        assert "'orders'" in message and "read.path" in message
        assert "engine 'delta_rs' cannot read over JDBC" in message
        assert "source 'erp' declares no JDBC capability" in message
        assert record.rows_read == 0 and not engine.exists(TargetName("bronze", "orders"))
    finally:
        loader.close()

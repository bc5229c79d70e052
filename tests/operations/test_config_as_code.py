"""Config as code on SQLite and the test PostgreSQL: export, plan, apply (atomic, audited,
idempotent), --prune, malformed files with line numbers, and an export → apply round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from dataloader_sdk.control import ControlStore
from dataloader_sdk.declarative import (
    ConfigFileError,
    apply_config,
    config_schema,
    export_config,
    parse_config,
    plan_config,
)
from dataloader_sdk.errors import ChangeConflictError, ValidationError
from dataloader_sdk.model import SourceConfig
from dataloader_sdk.plugins import get_host
from tests.operations.control_envs import ControlEnvs, envs, incremental

__all__ = ["envs"]

FILE = """\
version: 1
sources:
  erp:
    db_type: postgresql
    host: erp-db
    database: erp
    username: loader
    secret: env:ERP_TOKEN
  src:
    db_type: postgresql
    host: src-db
    database: src
    username: loader
    secret: env:SRC_PASSWORD
tables:
  orders:
    source: erp
    source_table: orders
    target: bronze.orders
    strategy: incremental
    strategy_options:
      watermark_column: updated_at
      primary_keys: [id]
    interval_seconds: 900
  customers:
    source: src
    source_table: customers
    target: bronze.customers
    priority: 10
"""


def _apply(store: ControlStore, text: str, *, prune: bool = False) -> str | None:
    wanted = parse_config(text, host=get_host()).for_environment(store.environment)
    return apply_config(store, wanted, actor="ci", prune=prune).change_set


def test_apply_creates_then_second_apply_changes_nothing(envs: ControlEnvs) -> None:
    store = envs.test
    wanted = parse_config(FILE, host=get_host()).for_environment(store.environment)
    plan = plan_config(store, wanted)
    assert plan.counts() == {"create": 3, "change": 0, "remove": 0, "unchanged": 1}
    first = apply_config(store, wanted, actor="ci", expected=plan)
    assert first.change_set is not None
    rows = envs.raw("dataloader_test", "SELECT entity_name, action, change_set FROM "
                    "{t}table_control_history WHERE action = 'apply' ORDER BY id")
    assert sorted(r["entity_name"] for r in rows) == ["customers", "erp", "orders"]
    assert {r["change_set"] for r in rows} == {first.change_set}
    orders = envs.table_row("dataloader_test", "orders")
    assert orders is not None and orders["interval_seconds"] == 900
    assert orders["strategy_options"] == {"watermark_column": "updated_at",
                                          "primary_keys": ["id"]}
    versions = envs.raw("dataloader_test", "SELECT name, version FROM {t}table_control")
    assert not plan_config(store, wanted).has_changes
    assert _apply(store, FILE) is None
    assert envs.raw("dataloader_test", "SELECT name, version FROM {t}table_control") == versions
    assert len(envs.audit("dataloader_test", "apply")) == 3


def test_plan_shows_changes_with_risk_flags_and_apply_keeps_state(envs: ControlEnvs) -> None:
    store = envs.test
    _apply(store, FILE)
    changed = FILE.replace("watermark_column: updated_at", "watermark_column: changed_at")
    wanted = parse_config(changed, host=get_host()).for_environment(store.environment)
    plan = plan_config(store, wanted)
    [orders] = [d for d in plan.tables if d.kind == "changed"]
    assert [(c.field, c.before, c.after) for c in orders.changes] == [
        ("strategy_options.watermark_column", "updated_at", "changed_at")]
    assert [f.code for f in orders.flags] == ["cursor"]
    result = apply_config(store, wanted, actor="ci")
    assert result.plan.counts()["change"] == 1
    row = envs.table_row("dataloader_test", "orders")
    assert row is not None and row["version"] == 2


def test_prune_removes_what_the_file_does_not_list(envs: ControlEnvs) -> None:
    store = envs.test
    store.add_table(incremental("extra"), actor="dev")
    wanted = parse_config(FILE, host=get_host()).for_environment(store.environment)
    assert "extra" not in {d.name for d in plan_config(store, wanted).tables}
    pruned = plan_config(store, wanted, prune=True)
    assert {d.name: d.kind for d in pruned.tables}["extra"] == "removed"
    assert {d.name: d.kind for d in pruned.sources} == {"erp": "added", "src": "unchanged"}
    _apply(store, FILE, prune=True)
    assert envs.table_row("dataloader_test", "extra") is None
    assert [r["entity_name"] for r in envs.audit("dataloader_test", "apply")].count("extra") == 1
    assert not plan_config(store, wanted, prune=True).has_changes


def test_prune_refuses_removing_a_source_still_used(envs: ControlEnvs) -> None:
    store = envs.test
    store.add_table(incremental("uses_src"), actor="dev")
    text = ("version: 1\nsources:\n  erp: {db_type: postgresql, host: h, database: d, username: u}\n"
            "tables:\n  uses_src: {source: src, source_table: t, target: bronze.t}\n")
    with pytest.raises(ValidationError, match="source 'src' is neither in the file"):
        _apply(store, text, prune=True)
    assert envs.raw("dataloader_test", "SELECT name FROM {t}table_control_dbconfig") == [
        {"name": "src"}]  # nothing applied: erp not created, src not removed


def test_apply_refuses_a_plan_that_moved(envs: ControlEnvs) -> None:
    store = envs.test
    wanted = parse_config(FILE, host=get_host()).for_environment(store.environment)
    shown = plan_config(store, wanted)
    store.add_table(incremental("orders"), actor="someone")
    with pytest.raises(ChangeConflictError, match="changed since the plan") as err:
        apply_config(store, wanted, actor="ci", expected=shown)
    assert "orders" in err.value.tables
    assert envs.raw("dataloader_test", "SELECT name FROM {t}table_control_dbconfig "
                    "WHERE name = 'erp'") == []


@pytest.mark.parametrize(("text", "expected"), [
    ("version: 1\ntables:\n  t: [1\n", ["line 4: not valid YAML"]),
    ("version: 1\nsources:\n  a: {db_type: sqlite}\n  a: {db_type: sqlite}\n",
     ["line 4: not valid YAML"]),
    (FILE.replace("interval_seconds: 900", "interval_seconds: soon"),
     ["line 24: tables.orders.interval_seconds: must be integer or empty"]),
    (FILE.replace("    priority: 10", "    priorty: 10"),
     ["line 25: tables.customers: unknown field(s) priorty"]),
    (FILE.replace("      watermark_column: updated_at\n", ""),
     ["line 21: tables.orders.strategy_options.watermark_column: is required"]),
    (FILE.replace("secret: env:ERP_TOKEN", "secret: hunter2-not-a-ref"),
     ["line 8: sources.erp.secret: does not match"]),
    (FILE.replace("    database: erp\n",
                  "    database: erp\n    options: {password: hunter2-inline}\n"),
     ["line 7: sources.erp.options.password: names a secret"]),
    ("version: 2\n", ["line 1: version: must be 1"]),
])
def test_malformed_files_get_line_numbers_and_nothing_is_applied(
    envs: ControlEnvs, text: str, expected: list[str]
) -> None:
    with pytest.raises(ConfigFileError) as err:
        _apply(envs.test, text)
    shown = [str(p) for p in err.value.problems]
    for line in expected:
        assert any(s.startswith(line) for s in shown), (line, shown)
    assert "hunter2" not in str(err.value)
    assert envs.raw("dataloader_test", "SELECT name FROM {t}table_control") == []
    assert envs.audit("dataloader_test", "apply") == []


def test_round_trip_export_apply_into_an_empty_environment(
    envs: ControlEnvs, tmp_path: Path
) -> None:
    _apply(envs.prod, FILE)
    envs.prod.add_source(SourceConfig("wh", "postgresql", host="w", port=5433, username="u",
                                      database="w", enabled=False), actor="dev")
    exported = export_config({"dataloader": envs.prod})
    assert "env:ERP_TOKEN" in exported
    # An empty environment of another control database.
    (tmp_path / "other").mkdir()
    other = ControlStore.open(f"sqlite:///{tmp_path}/other/dataloader.db", "dataloader")
    try:
        assert _apply(other, exported) is not None
        assert export_config({"dataloader": other}) == exported
        assert _apply(other, exported) is None
    finally:
        other.close()


def test_single_file_export_holds_both_environments(envs: ControlEnvs) -> None:
    _apply(envs.test, FILE)
    text = export_config({"dataloader": envs.prod, "dataloader_test": envs.test},
                         single_file=True)
    document = parse_config(text, host=get_host())
    assert set(document.for_environment("dataloader_test").tables) == {"orders", "customers"}
    assert set(document.for_environment("dataloader").tables) == set()
    loaded = YAML(typ="safe").load(text)
    assert set(loaded["environments"]) == {"dataloader", "dataloader_test"}


def test_schema_is_a_valid_json_schema_that_accepts_an_export(envs: ControlEnvs) -> None:
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(config_schema())
    _apply(envs.test, FILE)
    exported = YAML(typ="safe").load(export_config({"dataloader_test": envs.test}))
    assert list(Draft202012Validator(config_schema()).iter_errors(exported)) == []


READ_FILE = FILE.replace("    interval_seconds: 900\n", """    interval_seconds: 900
    read:
      path: jdbc
      partition_column: id
      partitions: 8
""")


def test_read_settings_apply_export_and_report_bad_values(envs: ControlEnvs) -> None:
    store = envs.test
    assert _apply(store, READ_FILE) is not None
    row = envs.table_row("dataloader_test", "orders")
    assert row is not None
    read = json.loads(row["read"]) if isinstance(row["read"], str) else row["read"]
    assert read == {"path": "jdbc", "partition_column": "id", "partitions": 8}
    other = envs.table_row("dataloader_test", "customers")
    assert other is not None and other["read"] is None
    exported = export_config({"dataloader_test": store})
    assert "read:" in exported and "partition_column: id" in exported
    assert _apply(store, exported) is None  # the export is what is stored
    with pytest.raises(ConfigFileError) as err:
        _apply(envs.prod, READ_FILE.replace("partitions: 8", "partitions: 0"))
    assert any("tables.orders.read.partitions" in str(p) for p in err.value.problems)
    with pytest.raises(ConfigFileError) as err:
        _apply(envs.prod, READ_FILE.replace("      partition_column: id\n", ""))
    assert any("tables.orders.read.partition_column" in str(p) for p in err.value.problems)
    assert envs.raw("dataloader", "SELECT name FROM {t}table_control") == []

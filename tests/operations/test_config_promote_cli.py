"""The ``dataloader config`` and ``dataloader promote`` commands, end to end on SQLite."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from dataloader_sdk.cli import main

Invoke = Callable[..., Result]

FILE = """\
version: 1
sources:
  local:
    db_type: sqlalchemy
    options:
      url: sqlite:///{db}
tables:
  orders:
    source: local
    source_table: orders
    target: bronze.orders
    strategy: incremental
    strategy_options:
      watermark_column: updated_at
      primary_keys: [id]
    interval_seconds: 900
"""


@pytest.fixture
def dl(tmp_path: Path) -> Invoke:
    home = tmp_path / "project"
    home.mkdir()
    runner = CliRunner()

    def invoke(*args: str, env: str | None = None, user: str = "alice",
               stdin: str | None = None) -> Result:
        prefix = ["--home", str(home)] + (["--env", env] if env else [])
        return runner.invoke(main, [*prefix, *args], input=stdin,
                             env={"USER": user, "LOGNAME": user})

    assert invoke("init").exit_code == 0
    assert invoke("init", env="dataloader_test").exit_code == 0
    return invoke


def _ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.output, result.stderr)
    return result


def _file(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text.format(db=tmp_path / "source.db"), encoding="utf-8")
    return path


def test_config_plan_apply_export_and_schema(dl: Invoke, tmp_path: Path) -> None:
    path = _file(tmp_path, FILE)
    plan = json.loads(_ok(dl("config", "plan", str(path), "--json")).stdout)
    assert plan["counts"] == {"create": 2, "change": 0, "remove": 0, "unchanged": 0}
    declined = dl("config", "apply", str(path), stdin="n\n")
    assert declined.exit_code == 1
    assert json.loads(_ok(dl("tables", "list", "--json")).stdout)["tables"] == []
    applied = json.loads(_ok(dl("config", "apply", str(path), "--yes", "--json")).stdout)
    assert applied["applied"] is True and applied["change_set"]
    again = _ok(dl("config", "apply", str(path), "--yes"))
    assert "Nothing to change" in again.stdout
    exported = _ok(dl("config", "export")).stdout
    assert "watermark_column: updated_at" in exported and "url: sqlite:///" in exported
    out = tmp_path / "exported"
    _ok(dl("config", "export", "--out", str(out)))
    assert sorted(p.name for p in out.iterdir()) == ["dataloader.yaml", "dataloader_test.yaml"]
    assert (out / "dataloader.yaml").read_text(encoding="utf-8") == exported
    both = _ok(dl("config", "export", "--single-file")).stdout
    assert "environments:" in both and "dataloader_test:" in both
    schema = json.loads(_ok(dl("config", "schema")).stdout)
    assert schema["$schema"].endswith("2020-12/schema")


def test_config_apply_reports_line_numbers_and_applies_nothing(
    dl: Invoke, tmp_path: Path
) -> None:
    bad = _file(tmp_path, FILE.replace("interval_seconds: 900", "interval_seconds: -5")
                .replace("target: bronze.orders", "target: orders"))
    result = dl("config", "apply", str(bad), "--yes")
    assert result.exit_code == 2
    assert "line 16: tables.orders.interval_seconds" in result.stderr
    assert "line 11: tables.orders.target" in result.stderr
    assert json.loads(_ok(dl("tables", "list", "--json")).stdout)["tables"] == []


def test_promote_request_approve_list_rollback(dl: Invoke, tmp_path: Path) -> None:
    _ok(dl("config", "apply", str(_file(tmp_path, FILE)), "--yes"))
    changed = FILE.replace("watermark_column: updated_at", "watermark_column: changed_at")
    _ok(dl("config", "apply", str(_file(tmp_path, changed, "test.yaml")), "--yes",
           env="dataloader_test"))
    diff = json.loads(_ok(dl("promote", "diff", "--json")).stdout)
    [orders] = diff["tables"]
    assert orders["kind"] == "changed" and orders["flags"][0]["code"] == "cursor"
    refused = dl("promote", "request")
    assert refused.exit_code == 2 and "choose reset or backfill" in refused.stderr
    record = json.loads(_ok(dl("promote", "request", "--watermark", "orders=reset",
                               "--json")).stdout)
    assert record["status"] == "requested" and record["requested_by"] == "cli:alice"
    self_approval = dl("promote", "approve", str(record["id"]))
    assert self_approval.exit_code == 2 and "cannot approve it too" in self_approval.stderr
    _ok(dl("promote", "approve", str(record["id"]), user="bob"))
    listed = json.loads(_ok(dl("promote", "list", "--json")).stdout)["promotions"]
    assert [(p["id"], p["status"], p["approved_by"]) for p in listed] == [
        (record["id"], "applied", "cli:bob")]
    prod = json.loads(_ok(dl("tables", "show", "orders", "--json")).stdout)
    assert "changed_at" in json.dumps(prod)
    _ok(dl("promote", "rollback", str(record["id"]), "--yes", user="carol"))
    prod = json.loads(_ok(dl("tables", "show", "orders", "--json")).stdout)
    assert "changed_at" not in json.dumps(prod)
    text = _ok(dl("promote", "list")).stdout
    assert "rolled_back" in text

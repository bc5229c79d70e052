"""``dataloader audit [filters]``: the listing (text and --json), paging, and ``purge``
still working as a subcommand of the group."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from tests.operations.bulk_support import seeded_cli

Invoke = Callable[..., Result]


@pytest.fixture
def dl(tmp_path: Path) -> Invoke:
    """``dataloader --home HOME ARGS...`` on an initialised, seeded project with one bulk edit."""
    invoke = seeded_cli(tmp_path)
    assert invoke("tables", "bulk-update", "--where", "name=sales_*", "--set", "priority=5",
                  "--yes").exit_code == 0
    return invoke


def _json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_audit_json_filters_and_pages(dl: Invoke) -> None:
    doc = _json(dl("audit", "--json", "--limit", "100"))
    assert doc["total"] == 8 + 3 and doc["pages"] == 1 and doc["has_more"] is False
    newest = doc["entries"][0]
    assert newest["action"] == "bulk" and newest["actor"].startswith("cli:")
    assert {"field": "priority", "kind": "changed", "before": 100, "after": 5} in (
        newest["changes"])
    assert newest["change_set"] and newest["at"].endswith("+00:00")

    bulk = _json(dl("audit", "--action", "bulk", "--json"))
    assert bulk["total"] == 3 and len({e["change_set"] for e in bulk["entries"]}) == 1
    table = _json(dl("audit", "--table", "sales_orders", "--json"))
    assert [e["action"] for e in table["entries"]] == ["bulk", "create"]
    source = _json(dl("audit", "--source", "crm", "--json"))
    assert sorted(e["entity"] for e in source["entries"]) == ["contacts", "crm", "leads"]
    assert _json(dl("audit", "--actor", "seed", "--json"))["total"] == 8
    assert _json(dl("audit", "--since", "1h", "--json"))["total"] == 11
    assert _json(dl("audit", "--until", "2000-01-01", "--json"))["total"] == 0

    page2 = _json(dl("audit", "--limit", "4", "--page", "2", "--json"))
    assert page2["page"] == 2 and page2["pages"] == 3 and page2["has_more"] is True
    assert [e["id"] for e in page2["entries"]] == [e["id"] for e in doc["entries"][4:8]]


def test_audit_text_output_and_bad_input(dl: Invoke) -> None:
    text = dl("audit", "--limit", "3")
    assert text.exit_code == 0, text.output
    assert "priority: 100 → 5" in text.stdout
    assert "Page 1 of 4 (11 entries); next: --page 2" in text.stdout
    created = dl("audit", "--action", "create", "--table", "stock")
    assert "(created)" in created.stdout
    none = dl("audit", "--table", "nope")
    assert none.exit_code == 0 and "No audit entries match." in none.stdout
    bad = dl("audit", "--since", "yesterday-ish")
    assert bad.exit_code == 2 and "ISO 8601" in bad.stderr
    bad_action = dl("audit", "--action", "explode")
    assert bad_action.exit_code == 2


def test_audit_purge_is_still_a_subcommand(dl: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEAKED_VALUE_FOR_TEST", "never-stored-value-123")
    result = dl("audit", "purge", "--value-from", "env:LEAKED_VALUE_FOR_TEST", "--yes",
                "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows_rewritten"] == 0
    assert _json(dl("audit", "--action", "purge", "--json"))["total"] == 1

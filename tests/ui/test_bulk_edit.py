"""Bulk edit through the UI: filter, preview the per-table diff, apply all or nothing.

The outcome is read back with raw ``sqlite3`` from the control DB, not through the store.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from flask.testing import FlaskClient

from tests.ui._client import csrf_token, text_of
from tests.ui.conftest import control_db

_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def _priorities(home: Path) -> dict[str, int]:
    with control_db(home) as conn:
        return dict(conn.execute("SELECT name, priority FROM table_control").fetchall())


def _preview(client: FlaskClient, **fields: object) -> tuple[int, str]:
    data = {"csrf_token": csrf_token(client), **fields}
    response = client.post("/bulk/preview", data=data)
    return response.status_code, text_of(response)


def _apply_form(body: str) -> dict[str, list[str]]:
    """The hidden fields the preview carries to the apply step (as a browser posts them)."""
    form_html = body[body.index('action="/bulk/apply"'):]
    data: dict[str, list[str]] = {}
    for name, value in _HIDDEN.findall(form_html):
        data.setdefault(name, []).append(html.unescape(value))
    return data


def test_filter_lists_matching_tables_with_checkboxes(viewer: FlaskClient) -> None:
    body = text_of(viewer.get("/bulk/?status=needs_attention"))
    assert 'value="payments"' in body
    assert 'value="orders"' not in body
    assert "1 match" in body or "All 1 tables" in body


def test_preview_then_apply_checked_tables(editor: FlaskClient, ui_home: Path) -> None:
    before = _priorities(ui_home)
    status, body = _preview(editor, source="erp", scope="checked",
                            names=["orders", "invoices"], set_priority="8")
    assert status == 200, body
    assert 'id="bulk-diff"' in body and "orders" in body and "invoices" in body
    assert _priorities(ui_home) == before  # a preview writes nothing
    response = editor.post("/bulk/apply", data=_apply_form(body))
    assert response.status_code == 302, text_of(response)
    after = _priorities(ui_home)
    assert after["orders"] == after["invoices"] == 8
    assert {k: v for k, v in after.items() if k not in ("orders", "invoices")} == \
        {k: v for k, v in before.items() if k not in ("orders", "invoices")}
    with control_db(ui_home) as conn:
        rows = conn.execute("SELECT entity_name, actor, change_set FROM table_control_history "
                            "WHERE action = 'bulk'").fetchall()
    assert sorted(r[0] for r in rows) == ["invoices", "orders"]
    assert {r[1] for r in rows} == {"ui:editor"}
    assert len({r[2] for r in rows}) == 1  # one change set
    assert rows[0][2] in (response.headers.get("Location") or "")


def test_all_matching_filter(editor: FlaskClient, ui_home: Path) -> None:
    status, body = _preview(editor, source="erp", scope="filter", set_enabled="false")
    assert status == 200, body
    assert editor.post("/bulk/apply", data=_apply_form(body)).status_code == 302
    with control_db(ui_home) as conn:
        rows = conn.execute("SELECT source_name, enabled FROM table_control").fetchall()
    assert {e for s, e in rows if s == "erp"} == {0}
    assert {e for s, e in rows if s != "erp"} <= {1}  # other sources' tables untouched


def test_invalid_result_is_shown_inline_and_nothing_changes(
        editor: FlaskClient, ui_home: Path) -> None:
    before = _priorities(ui_home)
    status, body = _preview(editor, source="erp", scope="filter", set_strategy="no_such")
    assert status == 422
    assert 'id="bulk-table-errors"' in body
    # next to the field, with the count of tables it affects
    field = body[body.index('id="set_strategy"'):]
    assert "unknown strategy" in field[:2000] and "5 table(s)" in field[:2000]
    assert _priorities(ui_home) == before


def test_malformed_change_is_shown_next_to_its_field(editor: FlaskClient) -> None:
    status, body = _preview(editor, source="erp", scope="filter", set_priority="high",
                            option_key="lookback", option_value="{not json")
    assert status == 422
    assert 'id="set_priority-error"' in body
    assert 'id="option_value-error"' in body and "not JSON" in body


def test_conflict_since_preview_refuses_whole_edit(
        editor: FlaskClient, approver: FlaskClient, ui_home: Path) -> None:
    status, body = _preview(editor, source="erp", scope="checked",
                            names=["orders", "shipments"], set_priority="6")
    assert status == 200
    # Someone else edits one of the tables between the preview and the apply.
    other_status, other = _preview(approver, source="erp", scope="checked",
                                   names=["shipments"], set_priority="2")
    assert other_status == 200
    assert approver.post("/bulk/apply", data=_apply_form(other)).status_code == 302
    response = editor.post("/bulk/apply", data=_apply_form(body))
    assert response.status_code == 409
    assert "shipments" in text_of(response) and "nothing was changed" in text_of(response)
    after = _priorities(ui_home)
    assert after["shipments"] == 2 and after["orders"] == 0  # orders not half-applied


def test_viewer_cannot_preview_or_apply(viewer: FlaskClient) -> None:
    token = csrf_token(viewer)
    for path in ("/bulk/preview", "/bulk/apply"):
        assert viewer.post(path, data={"csrf_token": token, "source": "erp",
                                       "scope": "filter", "set_priority": "1"}
                           ).status_code == 403

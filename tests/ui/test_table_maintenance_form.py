"""The maintenance policy on the table form and page: shown, edited (with the CSRF token
like every field), a bad setting named next to the field with nothing stored, kept across
edits that do not touch it. Rows are read back with raw ``sqlite3``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from tests.ui._client import csrf_token, text_of
from tests.ui.conftest import control_db


def _policy(home: Path) -> Any:
    conn = control_db(home)
    try:
        (value,) = conn.execute(
            "SELECT maintenance FROM table_control WHERE name='live'").fetchone()
    finally:
        conn.close()
    return json.loads(value) if value is not None else None


def _edit_data(client: FlaskClient) -> dict[str, str]:
    page = text_of(client.get("/tables/live/edit"))
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page)
    assert version is not None
    return {"csrf_token": csrf_token(client), "name": "live", "source": "local",
            "source_table": "customers", "target": "bronze.live", "strategy": "full",
            "strategy_options": "{}", "priority": "3", "enabled": "y",
            "version": version.group(1)}


def test_the_form_edits_the_policy_and_the_page_shows_it(editor: FlaskClient,
                                                         ui_home: Path) -> None:
    assert re.search(r'id="maintenance-policy">defaults', text_of(editor.get("/tables/live")))
    data = _edit_data(editor)
    for bad, named in (('{"vacuum_retention_hours": 24}', "allow_short_retention"),
                       ('{"compact_min_files": 0}', "maintenance.compact_min_files"),
                       ('{"speed": 11}', "maintenance.speed"),
                       ("{not json", "is not valid JSON")):
        response = editor.post("/tables/live/edit", data=data | {"maintenance": bad})
        assert response.status_code == 422, bad
        assert re.search(rf'id="maintenance-error">.*{re.escape(named)}',
                         text_of(response), re.S), bad
    assert _policy(ui_home) is None  # nothing was stored
    # Without the CSRF token the form is refused like any other field's change.
    forged = editor.post("/tables/live/edit", data={
        k: v for k, v in data.items() if k != "csrf_token"} | {
        "maintenance": '{"compact_min_files": 40}'})
    assert forged.status_code in (400, 422)
    assert _policy(ui_home) is None
    response = editor.post("/tables/live/edit", data=data | {
        "maintenance": '{"compact_min_files": 40, "enabled": false}'})
    assert response.status_code == 302
    assert _policy(ui_home) == {"compact_min_files": 40, "enabled": False}
    page = text_of(editor.get("/tables/live"))
    assert re.search(r'id="maintenance-policy">.*compact_min_files.*40', page, re.S)
    # The edit form shows the stored policy; saving it unchanged keeps it.
    form = text_of(editor.get("/tables/live/edit"))
    shown = re.search(r'<textarea[^>]*name="maintenance"[^>]*>(.*?)</textarea>', form, re.S)
    assert shown is not None and "compact_min_files" in shown.group(1)
    again = _edit_data(editor)
    kept = editor.post("/tables/live/edit", data=again | {
        "maintenance": shown.group(1).replace("&#34;", '"').replace("&quot;", '"'),
        "priority": "4"})
    assert kept.status_code == 302
    assert _policy(ui_home) == {"compact_min_files": 40, "enabled": False}
    # Emptying the field puts the table back on the defaults.
    cleared = editor.post("/tables/live/edit", data=_edit_data(editor) | {"maintenance": ""})
    assert cleared.status_code == 302 and _policy(ui_home) is None


def _policies(home: Path) -> dict[str, Any]:
    conn = control_db(home)
    try:
        rows = conn.execute("SELECT name, maintenance FROM table_control").fetchall()
    finally:
        conn.close()
    return {name: json.loads(value) if value is not None else None for name, value in rows}


def test_bulk_edit_sets_one_maintenance_setting(editor: FlaskClient, ui_home: Path) -> None:
    import html

    before = _policies(ui_home)
    base = {"csrf_token": csrf_token(editor), "source": "erp", "scope": "checked",
            "names": ["orders", "invoices"], "maintenance_key": "compact_min_files"}
    bad = editor.post("/bulk/preview", data=base | {"maintenance_value": "0"})
    assert bad.status_code == 422
    assert re.search(r'id="maintenance_value-error">.*at least 1', text_of(bad), re.S)
    unset = editor.post("/bulk/preview", data=base | {"maintenance_key": "",
                                                      "maintenance_value": "40"})
    assert unset.status_code == 422 and "choose the setting" in text_of(unset)
    preview = editor.post("/bulk/preview", data=base | {"maintenance_value": "40"})
    body = text_of(preview)
    assert preview.status_code == 200, body
    assert "maintenance.compact_min_files" in body and _policies(ui_home) == before
    form_html = body[body.index('action="/bulk/apply"'):]
    data: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">',
                                  form_html):
        data.setdefault(name, []).append(html.unescape(value))
    applied = editor.post("/bulk/apply", data=data)
    assert applied.status_code == 302, text_of(applied)
    after = _policies(ui_home)
    assert after["orders"] == after["invoices"] == {"compact_min_files": 40}
    assert {k: v for k, v in after.items() if k not in ("orders", "invoices")} == {
        k: v for k, v in before.items() if k not in ("orders", "invoices")}

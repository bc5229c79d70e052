"""The tables pages: list (filters, search, sort, paging done in the store query), the
detail page, create/edit with the store's validation errors inline, and the actions.
Every expectation about stored rows is read back with raw ``sqlite3``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.ui._client import csrf_token, text_of
from tests.ui.conftest import LIVE_ROWS, control_db

STRATEGIES = ("full", "append_only")


@pytest.fixture
def many(ui_app: Flask) -> int:
    """130 more prod tables (two strategies, some disabled); returns how many were added."""
    from dataloader_sdk.model import TableConfig, TargetName
    from dataloader_sdk.ui.context import services

    with ui_app.app_context():
        store = services().store("dataloader")
        for i in range(130):
            store.add_table(TableConfig(
                name=f"t{i:03d}_{'sales' if i % 3 == 0 else 'misc'}", source="erp",
                source_table="orders", target=TargetName("many", f"t{i:03d}"),
                strategy="full" if i % 2 else "append_only",
                strategy_options={} if i % 2 else {"cursor_column": "id"},
                priority=i % 7, enabled=i % 5 != 0), actor="setup")
    return 130


def _names(body: str) -> list[str]:
    return re.findall(r'<tr data-table="([^"]+)">', body)


def _reference(home: Path, where: str = "1=1", params: tuple[object, ...] = (),
               order: str = "name") -> list[str]:
    conn = control_db(home)
    try:
        return [r[0] for r in conn.execute(
            f"SELECT name FROM table_control WHERE {where} ORDER BY {order}", params)]
    finally:
        conn.close()


def test_paging_walks_every_table_once_in_order(viewer: FlaskClient, many: int,
                                                ui_home: Path) -> None:
    expected = _reference(ui_home)
    assert len(expected) > many
    seen: list[str] = []
    page = 1
    while True:
        body = text_of(viewer.get(f"/tables/?page_size=25&page={page}"))
        names = _names(body)
        if not names:
            break
        assert len(names) <= 25
        seen.extend(names)
        assert f"{len(expected)} tables match" in body
        page += 1
    assert seen == expected and page - 1 == -(-len(expected) // 25)


@pytest.mark.parametrize(("query", "where", "params"), [
    ("strategy=append_only", "strategy = ?", ("append_only",)),
    ("enabled=false", "enabled = 0", ()),
    ("status=needs_attention", "status = ?", ("needs_attention",)),
    ("source=local", "source_name = ?", ("local",)),
    ("q=SALES", "lower(name) LIKE ? OR lower(target) LIKE ?", ("%sales%", "%sales%")),
    ("q=many.t01", "lower(target) LIKE ?", ("%many.t01%",)),
    ("strategy=full&enabled=true&q=misc", "strategy='full' AND enabled=1 AND name LIKE ?",
     ("%misc%",)),
])
def test_filters_and_search_match_the_reference(viewer: FlaskClient, many: int,
                                                ui_home: Path, query: str, where: str,
                                                params: tuple[object, ...]) -> None:
    expected = _reference(ui_home, where, params)
    assert expected, "the filter must match something to be a test"
    body = text_of(viewer.get(f"/tables/?{query}&page_size=200"))
    assert _names(body) == expected
    assert f"{len(expected)} table" in body


def test_search_treats_like_wildcards_literally(viewer: FlaskClient, many: int) -> None:
    assert _names(text_of(viewer.get("/tables/?q=%25"))) == []
    assert _names(text_of(viewer.get("/tables/?q=t_0"))) == []  # '_' is not a wildcard


@pytest.mark.parametrize(("sort", "order"), [
    ("priority", "priority, name"), ("strategy", "strategy, name"),
    ("source", "source_name, name"), ("status", "status, name"),
])
def test_sorting_both_ways(viewer: FlaskClient, many: int, ui_home: Path, sort: str,
                           order: str) -> None:
    up = _names(text_of(viewer.get(f"/tables/?sort={sort}&page_size=200")))
    assert up == _reference(ui_home, order=order)[:200]
    column = order.split(",")[0]
    down = _names(text_of(viewer.get(f"/tables/?sort={sort}&dir=desc&page_size=200")))
    assert down == _reference(ui_home, order=f"{column} DESC, name")[:200]


def test_a_bad_filter_is_reported_not_guessed(viewer: FlaskClient) -> None:
    response = viewer.get("/tables/?sort=password&status=weird&page=0&page_size=9999")
    body = text_of(response)
    assert response.status_code == 400
    for field in ("sort", "status", "page", "page_size"):
        assert f"<li>{field}:" in body, field
    assert not _names(body)


def test_detail_page_shows_config_state_runs_delta_version_and_audit(
        viewer: FlaskClient, ui_home: Path) -> None:
    conn = control_db(ui_home)
    try:
        (version,) = conn.execute("SELECT delta_version FROM historical_metadata "
                                  "WHERE table_name='live'").fetchone()
    finally:
        conn.close()
    body = text_of(viewer.get("/tables/live"))
    assert "bronze.live" in body and "customers" in body and "full" in body
    assert f'<dd id="delta-version">{version}</dd>' in body
    assert f"{LIVE_ROWS} / {LIVE_ROWS}" in body  # rows read / written of the real run
    assert "setup" in body and "create" in body  # the audit trail
    failed = text_of(viewer.get("/tables/orders"))
    assert "SourceTransientError" in failed and "connection reset by peer" in failed
    assert viewer.get("/tables/no_such_table").status_code == 404


def _form(client: FlaskClient, path: str) -> dict[str, str]:
    return {"csrf_token": csrf_token(client, path)}


def test_create_shows_every_store_problem_next_to_its_field(editor: FlaskClient,
                                                            ui_home: Path) -> None:
    data = _form(editor, "/tables/new") | {
        "name": "bad name!", "source": "erp", "source_table": "orders",
        "source_query": "select 1", "target": "bronze.newt", "strategy": "incremental",
        "strategy_options": "{}", "priority": "1", "enabled": "y"}
    response = editor.post("/tables/new", data=data)
    body = text_of(response)
    assert response.status_code == 422
    # Model problems next to their fields (one round: the model's checks come first).
    assert re.search(r'id="name-error">\s*<li>', body)
    assert re.search(r'id="source_table-error">\s*<li>set exactly one', body)
    data |= {"name": "newt", "source_query": ""}
    body = text_of(editor.post("/tables/new", data=data))
    # The strategy's own option checks, next to the options field.
    assert re.search(r'id="strategy_options-error">.*watermark_column', body, re.S)
    assert re.search(r'id="strategy_options-error">.*primary_keys', body, re.S)
    data |= {"strategy_options": "{not json", "target": "onlyonepart"}
    body = text_of(editor.post("/tables/new", data=data))
    assert re.search(r'id="strategy_options-error">\s*<li>is not valid JSON', body)
    assert re.search(r'id="target-error">', body)
    assert _reference(ui_home, "name = ?", ("newt",)) == []  # nothing was written
    data |= {"strategy_options": '{"watermark_column": "updated_at", "primary_keys": ["id"]}',
             "target": "Bronze.NewT"}
    response = editor.post("/tables/new", data=data)
    assert response.status_code == 302 and response.headers["Location"] == "/tables/newt"
    conn = control_db(ui_home)
    try:
        row = conn.execute("SELECT target, strategy, source_query FROM table_control "
                           "WHERE name='newt'").fetchone()
    finally:
        conn.close()
    assert row == ("bronze.newt", "incremental", None)


def test_create_reports_a_target_clash_on_the_form(editor: FlaskClient) -> None:
    data = _form(editor, "/tables/new") | {
        "name": "dup", "source": "erp", "source_table": "orders", "target": "bronze.live",
        "strategy": "full", "strategy_options": "{}", "priority": "1"}
    response = editor.post("/tables/new", data=data)
    assert response.status_code == 422
    assert "already the target of table" in text_of(response)


def test_edit_saves_and_refuses_a_stale_version(editor: FlaskClient, ui_home: Path) -> None:
    page = text_of(editor.get("/tables/live/edit"))
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page)
    assert version is not None
    data = {"csrf_token": csrf_token(editor), "name": "live", "source": "local",
            "source_table": "customers", "target": "bronze.live", "strategy": "full",
            "strategy_options": "{}", "priority": "3", "interval_seconds": "600",
            "enabled": "y", "version": version.group(1)}
    response = editor.post("/tables/live/edit", data=data)
    assert response.status_code == 302
    assert _reference(ui_home, "name='live' AND priority=3 AND interval_seconds=600") == ["live"]
    # The same form again carries the old version: refused, nothing changed.
    stale = editor.post("/tables/live/edit", data=data | {"priority": "4"},
                        follow_redirects=True)
    assert "Someone changed this table" in text_of(stale)
    assert _reference(ui_home, "name='live' AND priority=3") == ["live"]
    # An inline error on edit, too.
    bad = editor.post("/tables/live/edit", data=data | {
        "version": str(int(version.group(1)) + 1), "interval_seconds": "-5"})
    assert bad.status_code == 422 and re.search(r'id="interval_seconds-error">', text_of(bad))


def test_edit_keeps_and_changes_the_read_settings(editor: FlaskClient, ui_home: Path) -> None:
    page = text_of(editor.get("/tables/live/edit"))
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page)
    assert version is not None
    data = {"csrf_token": csrf_token(editor), "name": "live", "source": "local",
            "source_table": "customers", "target": "bronze.live", "strategy": "full",
            "strategy_options": "{}", "priority": "3", "enabled": "y",
            "version": version.group(1),
            "read": '{"path": "jdbc", "partition_column": "id", "partitions": 0}'}
    bad = editor.post("/tables/live/edit", data=data)
    assert bad.status_code == 422
    assert re.search(r'id="read-error">.*at least 1', text_of(bad), re.S)
    response = editor.post("/tables/live/edit", data=data | {
        "read": '{"path": "jdbc", "partition_column": "id", "partitions": 4}'})
    assert response.status_code == 302
    page = text_of(editor.get("/tables/live/edit"))
    assert "&#34;partitions&#34;: 4" in page or '"partitions": 4' in page  # kept on the form
    assert "partitions" in text_of(editor.get("/tables/live"))  # shown on the detail page


def test_enable_disable_reset_and_acknowledge(editor: FlaskClient, ui_home: Path) -> None:
    token = csrf_token(editor)
    editor.post("/tables/live/disable", data={"csrf_token": token})
    assert _reference(ui_home, "name='live' AND enabled=0") == ["live"]
    editor.post("/tables/live/enable", data={"csrf_token": token})
    assert _reference(ui_home, "name='live' AND enabled=1") == ["live"]
    response = editor.post("/tables/live/reset", data={"csrf_token": token},
                           follow_redirects=True)
    assert "its next run starts over" in text_of(response)
    conn = control_db(ui_home)
    try:
        (state,) = conn.execute("SELECT state FROM table_control WHERE name='live'").fetchone()
        assert '"txn_version": 0' in state or '"txn_version":0' in state
    finally:
        conn.close()
    page = text_of(editor.get("/tables/payments"))
    assert "Acknowledge" in page
    editor.post("/tables/payments/acknowledge", data={"csrf_token": token})
    assert _reference(ui_home, "name='payments' AND status='idle'") == ["payments"]
    # Acknowledging a table that does not need attention is refused by the state machine.
    refused = editor.post("/tables/live/acknowledge", data={"csrf_token": token},
                          follow_redirects=True)
    assert "flash-error" in text_of(refused)
    assert _reference(ui_home, "name='live' AND status='succeeded'") == ["live"]

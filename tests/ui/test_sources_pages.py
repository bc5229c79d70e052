"""The sources pages: secrets only as references (never a value, also not echoed back
from a refused form), inline validation errors, optimistic locking, test connection."""

from __future__ import annotations

import json
import re
from pathlib import Path

from flask.testing import FlaskClient

from tests.ui._client import csrf_token, text_of
from tests.ui._populate import SECRET_ENV, SECRET_VALUE
from tests.ui.conftest import control_db

TYPED_SECRET = "Typed-In-Pa55word-Do-Not-Echo"


def _sources(home: Path) -> dict[str, tuple[object, ...]]:
    conn = control_db(home)
    try:
        return {r[0]: r[1:] for r in conn.execute(
            "SELECT name, db_type, host, secret_ref, options, version "
            "FROM table_control_dbconfig")}
    finally:
        conn.close()


def test_list_and_detail_show_the_reference_never_the_value(viewer: FlaskClient,
                                                            secret_env: str) -> None:
    for path in ("/sources/", "/sources/erp", "/sources/erp/edit"):
        body = text_of(viewer.get(path))
        assert secret_env not in body, path
    assert f"env:{SECRET_ENV}" in text_of(viewer.get("/sources/erp"))
    assert "orders" in text_of(viewer.get("/sources/erp"))  # the tables reading it


def test_create_refuses_inline_secrets_without_echoing_them(editor: FlaskClient,
                                                            ui_home: Path) -> None:
    before = _sources(ui_home)
    data = {"csrf_token": csrf_token(editor, "/sources/new"), "name": "pg", "db_type":
            "postgresql", "host": "db.example.com", "port": "5432", "database": "erp",
            "username": "loader", "secret": TYPED_SECRET,
            "options": json.dumps({"password": TYPED_SECRET}), "enabled": "y"}
    response = editor.post("/sources/new", data=data)
    body = text_of(response)
    assert response.status_code == 422
    assert TYPED_SECRET not in body
    assert re.search(r'id="secret-error">\s*<li>must be a reference', body)
    assert re.search(r'id="options-error">', body)
    url_secret = data | {"secret": "", "options": "{}",
                         "host": f"loader:{TYPED_SECRET}@db.example.com"}
    body = text_of(editor.post("/sources/new", data=url_secret))
    assert TYPED_SECRET not in body and re.search(r'id="host-error">', body)
    assert _sources(ui_home) == before  # nothing written
    good = data | {"secret": "env:PG_PASSWORD", "options": '{"sslmode": "require"}'}
    response = editor.post("/sources/new", data=good)
    assert response.status_code == 302, text_of(response)
    stored = _sources(ui_home)["pg"]
    assert stored[:3] == ("postgresql", "db.example.com", "env:PG_PASSWORD")


def test_bad_fields_are_reported_inline(editor: FlaskClient) -> None:
    data = {"csrf_token": csrf_token(editor, "/sources/new"), "name": "x y",
            "db_type": "sqlalchemy", "port": "70000", "options": "[1]"}
    body = text_of(editor.post("/sources/new", data=data))
    assert re.search(r'id="port-error">', body)
    data |= {"port": "", "options": "{}"}
    body = text_of(editor.post("/sources/new", data=data))
    assert re.search(r'id="name-error">', body)
    # With the model's problems fixed, the connector's own checks speak.
    body = text_of(editor.post("/sources/new", data=data | {"name": "xy"}))
    assert re.search(r'id="options-error">\s*<li>options\.url: is required', body)


def test_edit_with_optimistic_locking(editor: FlaskClient, ui_home: Path) -> None:
    page = text_of(editor.get("/sources/local/edit"))
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page)
    url = re.search(r'sqlite:///[^&"]+local\.db', page)
    assert version and url
    data = {"csrf_token": csrf_token(editor), "name": "local", "db_type": "sqlalchemy",
            "options": json.dumps({"url": url.group(0), "batch_rows": 500}), "enabled": "y",
            "version": version.group(1)}
    assert editor.post("/sources/local/edit", data=data).status_code == 302
    assert '"batch_rows": 500' in str(_sources(ui_home)["local"][3])
    stale = editor.post("/sources/local/edit", data=data, follow_redirects=True)
    assert "Someone changed this source" in text_of(stale)


def test_test_connection_reports_success_and_failure_without_the_secret(
        editor: FlaskClient) -> None:
    token = csrf_token(editor)
    ok = editor.post("/sources/local/test", data={"csrf_token": token}, follow_redirects=True)
    assert "Connected to local." in text_of(ok)
    # erp's secret is set as the SQLite URL's password, which SQLite refuses: a failure
    # whose message must not carry the secret.
    failed = text_of(editor.post("/sources/erp/test", data={"csrf_token": token},
                                 follow_redirects=True))
    assert "Connection to erp failed" in failed
    assert SECRET_VALUE not in failed
    assert editor.post("/sources/nope/test", data={"csrf_token": token}).status_code == 404

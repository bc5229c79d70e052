"""The app factory and its security defaults: headers, cookies, CSRF, deny by default,
the environment switch, and that the core never imports Flask."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.ui._client import csrf_token, text_of


def test_every_response_carries_the_security_headers(viewer: FlaskClient) -> None:
    for path in ("/", "/tables/", "/sources/", "/login", "/static/css/app.css", "/nope"):
        response = viewer.get(path)
        response.close()  # static files are streamed: close the file
        csp = response.headers.get("Content-Security-Policy", "")
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, path
        assert response.headers["X-Frame-Options"] == "DENY", path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["Referrer-Policy"] == "same-origin", path


def test_pages_have_no_inline_script_or_style(viewer: FlaskClient) -> None:
    for path in ("/", "/tables/", "/tables/live", "/tables/customers", "/sources/", "/sources/erp"):
        body = text_of(viewer.get(path))
        assert "<style" not in body and " style=" not in body, path
        for tag in body.split("<script")[1:]:
            assert tag.lstrip().startswith("src="), f"inline script on {path}"
        assert "cdn" not in body.lower(), path


def test_session_cookie_is_httponly_and_samesite(ui_app: Flask) -> None:
    client = ui_app.test_client()
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"username": "viewer",
                                           "password": "viewer-pass-1234",
                                           "csrf_token": token})
    cookie = next(v for k, v in response.headers.items()
                  if k == "Set-Cookie" and v.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # the fixture serves plain http on loopback


def test_cookies_are_secure_by_default(ui_home: Path, secret_env: str) -> None:
    from dataloader_sdk.ui import create_app

    app = create_app(ui_home)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    with app.app_context():
        from dataloader_sdk.ui.context import services

        services().close()


def test_state_changing_request_without_csrf_is_refused(editor: FlaskClient,
                                                        ui_home: Path) -> None:
    from tests.ui.conftest import control_db

    for path in ("/tables/customers/disable", "/tables/payments/acknowledge",
                 "/tables/customers/reset", "/env", "/logout"):
        response = editor.post(path, data={})
        assert response.status_code == 400, path
        assert "Form expired or forged" in text_of(response)
    wrong = editor.post("/tables/customers/disable", data={"csrf_token": "forged"})
    assert wrong.status_code == 400
    conn = control_db(ui_home)
    try:
        assert conn.execute("SELECT enabled FROM table_control WHERE name='customers'"
                            ).fetchone() == (1,)
        assert conn.execute("SELECT status FROM table_control WHERE name='payments'"
                            ).fetchone() == ("needs_attention",)
    finally:
        conn.close()


def test_a_view_without_a_declared_role_is_refused(ui_app: Flask) -> None:
    from tests.ui._client import sign_in

    ui_app.add_url_rule("/forgot", "forgot", lambda: "open")
    assert sign_in(ui_app, "approver").get("/forgot").status_code == 403
    assert ui_app.test_client().get("/forgot").status_code == 403


def test_environment_is_visible_and_switched_explicitly(viewer: FlaskClient) -> None:
    body = text_of(viewer.get("/"))
    assert 'class="env-prod"' in body and "PRODUCTION" in body
    assert "Viewing: <strong>dataloader</strong>" in body
    token = csrf_token(viewer)
    # A GET never switches: only the POSTed form does.
    viewer.get("/env?environment=dataloader_test")
    assert "Viewing: <strong>dataloader</strong>" in text_of(viewer.get("/"))
    response = viewer.post("/env", data={"environment": "dataloader_test", "csrf_token": token})
    assert response.status_code == 302
    body = text_of(viewer.get("/tables/"))
    assert 'class="env-test"' in body and "PRODUCTION" not in body
    assert "returns" in body  # the table only dataloader_test has
    bad = viewer.post("/env", data={"environment": "nope", "csrf_token": token},
                      follow_redirects=True)
    assert "Unknown environment" in text_of(bad)
    assert "Viewing: <strong>dataloader_test</strong>" in text_of(bad)


def test_vendored_assets_are_served_with_their_licences(viewer: FlaskClient) -> None:
    root = Path(__file__).parents[2] / "src" / "dataloader_sdk" / "ui" / "static" / "vendor"
    for name, script in (("htmx", "htmx.min.js"), ("chartjs", "chart.umd.min.js")):
        assert (root / name / "VERSION").read_text().strip()
        assert list((root / name).glob("LICENSE*"))
        response = viewer.get(f"/static/vendor/{name}/{script}")
        assert response.status_code == 200 and len(response.data) > 10_000
        response.close()


@pytest.mark.parametrize("code", [
    "import dataloader_sdk, dataloader_sdk.loader, dataloader_sdk.control.store",
    "import sys; sys.argv = ['dataloader', '--help']\n"
    "from dataloader_sdk.cli import main\n"
    "try:\n    main()\nexcept SystemExit:\n    pass",
])
def test_core_and_cli_help_import_no_flask(code: str) -> None:
    probe = (f"{code}\nimport sys\n"
             "bad = [m for m in ('flask', 'flask_wtf', 'flask_login', 'wtforms', 'werkzeug') "
             "if m in sys.modules]\nprint('LOADED=' + ','.join(bad))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert "LOADED=\n" in out or out.rstrip().endswith("LOADED="), out[-300:]

"""Signing in: password users (scrypt hashes in ``ui_users``), the trusted-header mode
behind an SSO proxy, roles enforced on the server, and the user as audit actor."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.ui._client import csrf_token, sign_in, text_of
from tests.ui._populate import PASSWORDS
from tests.ui.conftest import control_db

PROXY = "10.1.2.3"


def _post_login(client: FlaskClient, user: str, password: str) -> object:
    token = csrf_token(client, "/login")
    return client.post("/login", data={"username": user, "password": password,
                                       "csrf_token": token})


def test_passwords_are_stored_only_as_salted_scrypt_hashes(ui_home: Path) -> None:
    conn = control_db(ui_home)
    try:
        rows = conn.execute("SELECT username, password_hash, role FROM ui_users").fetchall()
    finally:
        conn.close()
    assert {r[0] for r in rows} >= {"viewer", "editor", "approver"}
    for user, hashed, _ in rows:
        assert hashed.startswith("scrypt:") and PASSWORDS[user] not in hashed
    assert len({r[1] for r in rows}) == len(rows)  # salted: no two hashes alike


def test_sign_in_with_a_password(ui_app: Flask) -> None:
    client = ui_app.test_client()
    assert client.get("/").status_code == 302
    response = _post_login(client, "editor", PASSWORDS["editor"])
    assert response.status_code == 302 and response.headers["Location"] == "/"
    body = text_of(client.get("/"))
    assert "editor" in body and "(editor)" in body


@pytest.mark.parametrize(("user", "password"), [
    ("editor", "wrong-password-123"), ("nobody", "whatever-123456"), ("editor", ""),
])
def test_bad_credentials_are_refused_with_one_message(ui_app: Flask, user: str,
                                                      password: str) -> None:
    client = ui_app.test_client()
    response = _post_login(client, user, password)
    assert response.status_code == 401
    assert client.get("/").status_code == 302  # still anonymous
    if password:
        assert "Unknown user or wrong password." in text_of(response)


def test_a_disabled_user_cannot_sign_in_and_loses_the_session(ui_app: Flask) -> None:
    from dataloader_sdk.ui.context import services

    client = sign_in(ui_app, "viewer")
    assert client.get("/").status_code == 200
    with ui_app.app_context():
        services().users_store().set_ui_user_disabled("viewer")
    assert client.get("/").status_code == 302  # the session ends at once
    assert _post_login(ui_app.test_client(), "viewer", PASSWORDS["viewer"]).status_code == 401


def test_sign_in_redirects_only_to_same_site_paths(ui_app: Flask) -> None:
    client = ui_app.test_client()
    token = csrf_token(client, "/login")
    for target, expected in (("/tables/", "/tables/"), ("https://evil.example/", "/"),
                             ("//evil.example/x", "/")):
        response = client.post(f"/login?next={target}", data={
            "username": "viewer", "password": PASSWORDS["viewer"], "csrf_token": token})
        assert response.headers["Location"] == expected, target
        client.post("/logout", data={"csrf_token": csrf_token(client)})
        token = csrf_token(client, "/login")


def test_roles_are_enforced_on_the_server(client_as: object, ui_home: Path) -> None:
    viewer = client_as("viewer")  # type: ignore[operator]
    token = csrf_token(viewer)
    assert viewer.get("/tables/live").status_code == 200
    assert viewer.get("/tables/live/edit").status_code == 403
    assert viewer.get("/tables/new").status_code == 403
    assert viewer.get("/sources/new").status_code == 403
    for path in ("/tables/live/disable", "/tables/payments/acknowledge", "/tables/live/reset",
                 "/sources/erp/test"):
        assert viewer.post(path, data={"csrf_token": token}).status_code == 403, path
    # The editor's buttons are not even shown to a viewer.
    assert "Reset state" not in text_of(viewer.get("/tables/live"))
    conn = control_db(ui_home)
    try:
        assert conn.execute("SELECT enabled, status FROM table_control WHERE name='payments'"
                            ).fetchone() == (1, "needs_attention")
    finally:
        conn.close()


def test_the_signed_in_user_is_the_audit_actor(editor: FlaskClient, ui_home: Path) -> None:
    token = csrf_token(editor)
    assert editor.post("/tables/live/disable", data={"csrf_token": token}).status_code == 302
    conn = control_db(ui_home)
    try:
        actor, action = conn.execute(
            "SELECT actor, action FROM table_control_history WHERE entity_name='live' "
            "ORDER BY id DESC LIMIT 1").fetchone()
    finally:
        conn.close()
    assert (actor, action) == ("ui:editor", "update")


# -- trusted-header mode -----------------------------------------------------------------


@pytest.fixture
def header_app(ui_home: Path, secret_env: str) -> Iterator[Flask]:
    from dataloader_sdk.ui import UiConfig, create_app
    from dataloader_sdk.ui.context import services

    app = create_app(ui_home, UiConfig(
        secret_key="h" * 64, secure_cookies=False, auth_mode="trusted_header",
        trusted_proxies=(PROXY,), header_roles={"boss@example.com": "approver"},
        default_role="viewer"))
    app.testing = True
    yield app
    with app.app_context():
        services().close()


def _via(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address  # where the request comes from
    return client


def test_trusted_header_from_the_proxy_signs_in_with_the_mapped_role(header_app: Flask) -> None:
    boss = _via(header_app, PROXY)
    body = text_of(boss.get("/", headers={"X-Forwarded-Email": "Boss@Example.com"}))
    assert "boss@example.com" in body and "(approver)" in body
    other = _via(header_app, PROXY)
    response = other.get("/tables/live/edit", headers={"X-Forwarded-Email": "dev@example.com"})
    assert response.status_code == 403  # default role: viewer
    assert other.get("/", headers={"X-Forwarded-Email": "dev@example.com"}).status_code == 200


def test_trusted_header_from_elsewhere_is_ignored(header_app: Flask,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    attacker = _via(header_app, "192.0.2.66")
    response = attacker.get("/", headers={"X-Forwarded-Email": "boss@example.com"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert any("not a configured trusted proxy" in r.getMessage() for r in caplog.records)
    # Without the header, even the proxy's requests are anonymous.
    assert _via(header_app, PROXY).get("/").status_code == 302


def test_trusted_header_mode_has_no_password_sign_in(header_app: Flask) -> None:
    client = _via(header_app, PROXY)
    response = _post_login(client, "editor", PASSWORDS["editor"])
    assert response.status_code == 401
    assert "single sign-on proxy" in text_of(client.get("/login"))


def test_header_users_without_a_role_are_refused(ui_home: Path, secret_env: str) -> None:
    from dataloader_sdk.ui import UiConfig, create_app
    from dataloader_sdk.ui.context import services

    app = create_app(ui_home, UiConfig(secret_key="h" * 64, auth_mode="trusted_header",
                                       trusted_proxies=(PROXY,), default_role=None,
                                       header_roles={"ok@example.com": "editor"}))
    try:
        client = _via(app, PROXY)
        assert client.get("/", headers={"X-Forwarded-Email": "x@example.com"}).status_code == 302
        assert client.get("/", headers={"X-Forwarded-Email": "ok@example.com"}).status_code == 200
    finally:
        with app.app_context():
            services().close()


def test_trusted_header_mode_needs_proxy_addresses(ui_home: Path) -> None:
    from dataloader_sdk.errors import ConfigError
    from dataloader_sdk.ui import UiConfig, create_app

    with pytest.raises(ConfigError, match="trusted_proxies"):
        create_app(ui_home, UiConfig(auth_mode="trusted_header"))

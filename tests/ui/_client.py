"""Helpers of the UI tests: a populated app, signing in, the CSRF token, route URLs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.ui._populate import PASSWORDS, populate_project

__all__ = ["csrf_token", "make_app", "sign_in", "text_of"]

_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def make_app(home: Path) -> Flask:
    """The UI app over a freshly populated project in ``home`` (CSRF on, as served)."""
    from dataloader_sdk.ui import UiConfig, create_app

    settings = populate_project(home)
    app = create_app(settings, UiConfig(secret_key="t" * 64, secure_cookies=False))
    app.testing = True  # exceptions propagate to the test instead of a 500 page
    return app


def sign_in(app: Flask, user: str) -> FlaskClient:
    """A test client signed in as ``user`` through the real sign-in form."""
    client = app.test_client()
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"username": user, "password": PASSWORDS[user],
                                           "csrf_token": token})
    assert response.status_code == 302, f"sign-in of {user} failed: {response.status_code}"
    return client


def csrf_token(client: FlaskClient, path: str = "/") -> str:
    """The session's CSRF token, read from a page's ``csrf-token`` meta tag."""
    body = client.get(path).get_data(as_text=True)
    match = _META.search(body)
    assert match, f"no csrf-token meta tag on {path}"
    return match.group(1)


def text_of(response: Any) -> str:
    """A response's body as text."""
    return str(response.get_data(as_text=True))

"""Every route of the app for every role, from ``app.url_map``: nothing is reachable by chance.

For each rule and method: a role at or above the view's declared role is served (GET:
2xx/3xx; POST with its CSRF token: anything but 403 and 5xx, and never the CSRF page); a
lower role gets 403; anonymous users are sent to sign in; a POST without the CSRF token
is refused with 400. Every response body of the whole matrix is checked for the value
of the source's secret (resolvable through its ``env:`` reference): it must never appear.
A new route whose URL arguments are unknown here fails the test (extend ``ARGUMENTS``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.ui._client import csrf_token, make_app, sign_in, text_of
from tests.ui._populate import SECRET_ENV, SECRET_VALUE

ROLES = ("viewer", "editor", "approver")
PUBLIC = {"auth.login", "static"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    mp = pytest.MonkeyPatch()
    mp.setenv(SECRET_ENV, SECRET_VALUE)
    home: Path = tmp_path_factory.mktemp("matrix") / "proj"
    app = make_app(home)
    from dataloader_sdk.control.promotion import Promotions
    from dataloader_sdk.ui.context import EXTENSION

    services = app.extensions[EXTENSION]
    Promotions(services.store("dataloader_test"), services.store("dataloader")) \
        .request_promotion(["orders"], requester="ui:editor")
    yield app
    services.close()
    mp.undo()


def _arguments(app: Flask) -> dict[str, object]:
    from dataloader_sdk.control.promotion import Promotions
    from dataloader_sdk.ui.context import EXTENSION

    services = app.extensions[EXTENSION]
    promotion = Promotions(services.store("dataloader_test"),
                           services.store("dataloader")).list_promotions()[-1].id
    return {"name": "orders", "source": "erp", "source_name": "erp",
            "promotion_id": promotion, "filename": "css/app.css"}


def _routes(app: Flask) -> list[tuple[str, str, str, str | None]]:
    """``(endpoint, method, url, declared role)`` of every rule."""
    from dataloader_sdk.ui.auth import ROLE_ATTRIBUTE

    known = _arguments(app)
    out = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            missing = set(rule.arguments) - set(known)
            assert not missing, f"route {rule.rule}: add sample values for {missing}"
            # ``name`` is a source's name on the sources pages, a table's elsewhere.
            values = {k: "erp" if k == "name" and rule.endpoint.startswith("sources.")
                      else known[k] for k in rule.arguments}
            url = url_for(rule.endpoint, **values)
            role = getattr(app.view_functions[rule.endpoint], ROLE_ATTRIBUTE, None)
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                out.append((rule.endpoint, method, url, role))
    return out


def _allowed(user_role: str, needed: str) -> bool:
    return ROLES.index(user_role) >= ROLES.index(needed)


def _check_no_secret(body: str, where: str) -> None:
    assert SECRET_VALUE not in body, f"the source's secret value appears in {where}"


def test_every_view_declares_a_role(app: Flask) -> None:
    undeclared = [e for e, _, _, role in _routes(app) if role is None and e not in PUBLIC]
    assert not undeclared


@pytest.mark.parametrize("role", ROLES)
def test_every_route_for_role(app: Flask, role: str) -> None:
    client = sign_in(app, role)
    token = csrf_token(client)
    checked = 0
    for endpoint, method, url, needed in _routes(app):
        if endpoint in PUBLIC:
            continue
        assert needed is not None
        where = f"{method} {url} as {role}"
        response = (client.get(url) if method == "GET"
                    else client.post(url, data={"csrf_token": token}))
        body = text_of(response)
        _check_no_secret(body, where)
        if not _allowed(role, needed):
            assert response.status_code == 403, where
        elif method == "GET":
            assert 200 <= response.status_code < 400, f"{where}: {response.status_code}"
        else:
            assert response.status_code != 403 and response.status_code < 500, \
                f"{where}: {response.status_code}"
            assert "Form expired or forged" not in body, where
        if endpoint == "auth.logout":  # signed out: sign in again for the next routes
            client = sign_in(app, role)
            token = csrf_token(client)
        checked += 1
    assert checked >= 20


def test_post_without_csrf_is_refused(app: Flask) -> None:
    client = sign_in(app, "approver")
    posts = [(e, url) for e, method, url, _ in _routes(app) if method == "POST"]
    assert len(posts) >= 10
    for endpoint, url in posts:
        response = client.post(url, data={})
        _check_no_secret(text_of(response), f"POST {url}")
        assert response.status_code == 400, f"{endpoint}: {response.status_code}"
        assert "Form expired or forged" in text_of(response), endpoint


def test_anonymous_is_sent_to_sign_in(app: Flask) -> None:
    client = app.test_client()
    for endpoint, method, url, _ in _routes(app):
        if endpoint in PUBLIC:
            continue
        if method == "GET":
            response = client.get(url)
            assert response.status_code == 302, f"GET {url}: {response.status_code}"
            assert "/login" in (response.headers.get("Location") or ""), url
        else:
            # No session, no CSRF token: refused before any view runs.
            response = client.post(url, data={})
            assert response.status_code in (400, 302), f"POST {url}"
        _check_no_secret(text_of(response), f"{method} {url} anonymous")


def test_no_page_shows_the_secret_in_either_environment(app: Flask) -> None:
    """The secret resolves (its env var is set); pages show only the reference."""
    client = sign_in(app, "approver")
    token = csrf_token(client)
    seen_reference = False
    for environment in ("dataloader_test", "dataloader"):
        client.post("/env", data={"environment": environment, "csrf_token": token})
        for endpoint, method, url, _ in _routes(app):
            if method != "GET" or endpoint == "static":
                continue
            body = text_of(client.get(url))
            _check_no_secret(body, f"GET {url} in {environment}")
            seen_reference |= f"env:{SECRET_ENV}" in body
    assert seen_reference, "no page shows the source's secret reference at all"

"""The app factory: :func:`create_app` builds the Flask app for one project (home).

Usable from any WSGI server, e.g. ``gunicorn 'dataloader_sdk.ui:create_app("/srv/proj")'``
(set ``DATALOADER_UI_SECRET_KEY`` so every worker signs sessions alike), or via
``dataloader ui``, which serves it with werkzeug on 127.0.0.1.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError

from dataloader_sdk.config import ENVIRONMENTS, Settings
from dataloader_sdk.control.ui_users import ROLES, Role
from dataloader_sdk.errors import ConfigError
from dataloader_sdk.ui import auth, security
from dataloader_sdk.ui.context import EXTENSION, current_env, is_prod, set_env
from dataloader_sdk.ui.services import UiServices

if TYPE_CHECKING:
    from werkzeug.exceptions import HTTPException
    from werkzeug.wrappers import Response

__all__ = ["UiConfig", "create_app", "ui_config"]

_CONFIG_KEY = "DATALOADER_UI"
#: The header's links, shown when their endpoint is registered.
NAV_LINKS: tuple[tuple[str, str], ...] = (
    ("dashboard.index", "Dashboard"), ("tables.index", "Tables"),
    ("sources.index", "Sources"), ("bulk.index", "Bulk edit"),
    ("promotion.index", "Promotion"), ("history.index", "History"),
)


@dataclass(frozen=True)
class UiConfig:
    """How the app signs users in and sets cookies.

    Attributes:
        secret_key: Signs the session cookie. ``None``: ``$DATALOADER_UI_SECRET_KEY``,
            else a random key per process (sessions end when the process does).
        auth_mode: ``password`` (``ui_users``) or ``trusted_header`` (an SSO proxy).
        trusted_proxies: The proxy addresses whose ``trusted_header_name`` is believed
            (``trusted_header`` mode; required there).
        trusted_header_name: The header carrying the user's email.
        header_roles: Email (lower case) → role, for ``trusted_header`` mode.
        default_role: The role of a header user not in ``header_roles``; ``None``
            refuses such users.
        secure_cookies: Mark cookies ``Secure`` (HTTPS only). ``dataloader ui`` turns it
            off for its plain-http loopback server.
    """

    secret_key: str | None = None
    auth_mode: Literal["password", "trusted_header"] = "password"
    trusted_proxies: tuple[str, ...] = ()
    trusted_header_name: str = "X-Forwarded-Email"
    header_roles: Mapping[str, Role] = field(default_factory=dict)
    default_role: Role | None = "viewer"
    secure_cookies: bool = True

    def check(self) -> None:
        """Raise :class:`ConfigError` for a contradictory configuration."""
        if self.auth_mode not in ("password", "trusted_header"):
            raise ConfigError(f"UI auth_mode {self.auth_mode!r} is not 'password' or "
                              "'trusted_header'")
        if self.auth_mode == "trusted_header" and not self.trusted_proxies:
            raise ConfigError("UI trusted_header mode needs trusted_proxies: the addresses "
                              "of the SSO proxy whose header is believed (from anywhere "
                              "else anyone could claim any email)")
        bad = [r for r in [*self.header_roles.values(), self.default_role]
               if r is not None and r not in ROLES]
        if bad:
            raise ConfigError(f"UI roles {bad!r} are not roles; use {', '.join(ROLES)}")


def ui_config() -> UiConfig:
    """The :class:`UiConfig` of the current app."""
    return cast(UiConfig, current_app.config[_CONFIG_KEY])


def _settings(target: Settings | str | Path | None) -> Settings:
    if isinstance(target, Settings):
        return target
    return Settings.load(home=Path(target) if target is not None else None,
                         require_file=True)


def create_app(target: Settings | str | Path | None = None,
               config: UiConfig | None = None) -> Flask:
    """Build the UI app for a project.

    Args:
        target: The project's :class:`Settings`, or its home directory (holding
            ``dataloader.toml``); ``None``: ``$DATALOADER_HOME`` or the working directory.
        config: Sign-in and cookie settings (default: password users, Secure cookies).

    Raises:
        ConfigError: No project at the home, or a contradictory ``config``.
    """
    config = config or UiConfig()
    config.check()
    app = Flask(__name__)
    app.config[_CONFIG_KEY] = config
    app.config["SECRET_KEY"] = (config.secret_key or os.environ.get("DATALOADER_UI_SECRET_KEY")
                                or secrets.token_hex(32))
    app.extensions[EXTENSION] = UiServices(_settings(target))
    security.init_security(app, config)
    auth.init_auth(app)
    _register_blueprints(app)
    _register_handlers(app)
    return app


def _register_blueprints(app: Flask) -> None:
    # One Blueprint per page group; add new groups here (and only here).
    from dataloader_sdk.ui.views import bulk, dashboard, history, promotion, sources, tables

    app.register_blueprint(auth.bp)
    app.register_blueprint(_core)
    for module in (dashboard, tables, sources, bulk, promotion, history):
        app.register_blueprint(module.bp)


_core = Blueprint("core", __name__)


@_core.route("/env", methods=["POST"])
@auth.role_required("viewer")
def switch_env() -> Response:
    """Switch the viewed environment (explicit, by a POSTed form)."""
    wanted = request.form.get("environment", "")
    if wanted not in ENVIRONMENTS:
        flash(f"Unknown environment {wanted!r}; choose {' or '.join(ENVIRONMENTS)}.", "error")
    else:
        set_env(wanted)
        flash(f"Now viewing {wanted}.", "info")
    return redirect(url_for("dashboard.index"))


def _register_handlers(app: Flask) -> None:
    @app.context_processor
    def _globals() -> dict[str, object]:
        nav = [(e, label) for e, label in NAV_LINKS if e in app.view_functions]
        return {"current_env": current_env(), "is_prod": is_prod(),
                "environments": ENVIRONMENTS, "has_role": auth.has_role, "nav_links": nav}

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> tuple[str, int]:
        return render_template("error.html", code=400, title="Form expired or forged",
                               message="The form's security token was missing or invalid. "
                               "Reload the page and submit again."), 400

    @app.errorhandler(403)
    @app.errorhandler(404)
    @app.errorhandler(405)
    def _http(exc: HTTPException) -> tuple[str, int]:
        code = exc.code or 500
        messages = {403: "Your role does not allow this page or action.",
                    404: "There is no such page.", 405: "This method is not allowed here."}
        return render_template("error.html", code=code, title=exc.name,
                               message=messages.get(code, "")), code

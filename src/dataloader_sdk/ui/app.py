"""The app factory: :func:`create_app` builds the Flask app for one project (home).

Usable from any WSGI server, e.g. ``gunicorn 'dataloader_sdk.ui:create_app("/srv/proj")'``
(set ``DATALOADER_UI_SECRET_KEY`` so every worker signs sessions alike), or via
``dataloader ui``, which serves it with werkzeug on 127.0.0.1.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError

from dataloader_sdk.config import ENVIRONMENTS, Settings
from dataloader_sdk.ui import auth, security
from dataloader_sdk.ui.config import CONFIG_KEY, UiConfig, ui_config
from dataloader_sdk.ui.context import EXTENSION, current_env, is_prod, set_env
from dataloader_sdk.ui.services import UiServices

if TYPE_CHECKING:
    from werkzeug.exceptions import HTTPException
    from werkzeug.wrappers import Response

__all__ = ["UiConfig", "create_app", "ui_config"]

#: The header's links, shown when their endpoint is registered.
NAV_LINKS: tuple[tuple[str, str], ...] = (
    ("dashboard.index", "Dashboard"), ("tables.index", "Tables"),
    ("sources.index", "Sources"), ("bulk.index", "Bulk edit"),
    ("promotion.index", "Promotion"), ("history.index", "History"),
)


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
    app.config[CONFIG_KEY] = config
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

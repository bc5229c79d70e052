"""Signing in, the signed-in user and the role checks.

Two modes (:class:`~dataloader_sdk.ui.app.UiConfig` ``auth_mode``):

* ``password``: users of the ``ui_users`` table (prod control DB) sign in with a form;
  flask-login keeps the session. Passwords are checked against werkzeug's salted scrypt
  hash; the user's row is re-read on every request, so disabling a user or changing
  their role takes effect at once.
* ``trusted_header``: behind an SSO proxy (e.g. Databricks Apps) that sets
  ``X-Forwarded-Email``. The header is believed only from the configured proxy
  addresses; from anywhere else it is ignored (and logged) and the request is anonymous.
  The role comes from ``header_roles`` (email → role), else ``default_role``; with no
  role the user is refused.

Roles: ``viewer`` < ``editor`` < ``approver``. Every view declares the least role it
needs with :func:`role_required`; the app refuses (403) any view that declares none.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from functools import lru_cache, wraps
from typing import TYPE_CHECKING, Any, TypeVar, cast

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from dataloader_sdk.control.ui_users import ROLES, Role

if TYPE_CHECKING:
    from flask import Flask
    from werkzeug.wrappers import Response

    from dataloader_sdk.ui.config import UiConfig

__all__ = [
    "ROLES",
    "UiPrincipal",
    "actor",
    "bp",
    "has_role",
    "hash_password",
    "init_auth",
    "role_required",
]

log = logging.getLogger(__name__)
_F = TypeVar("_F", bound=Callable[..., Any])
#: The attribute :func:`role_required` sets on a view; the app checks it on every request.
ROLE_ATTRIBUTE = "_dataloader_ui_role"
#: Views anyone may reach (sign-in page, static files, the error pages).
PUBLIC_ENDPOINTS = frozenset({"auth.login", "static"})

bp = Blueprint("auth", __name__)


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password`` (what ``ui_users`` stores)."""
    return generate_password_hash(password, method="scrypt")


class UiPrincipal(UserMixin):  # type: ignore[misc]
    """The signed-in user: a name and a role (never a password or hash)."""

    def __init__(self, username: str, role: Role, *, via: str) -> None:
        self.username = username
        self.role = role
        self.via = via  # "password" or "header"

    def get_id(self) -> str:
        """flask-login's session key: the username."""
        return self.username


def has_role(user: object, role: Role) -> bool:
    """Whether ``user`` is signed in with ``role`` or a stronger one."""
    if not isinstance(user, UiPrincipal):
        return False
    return ROLES.index(user.role) >= ROLES.index(role)


def role_required(role: Role) -> Callable[[_F], _F]:
    """Let only users with ``role`` (or stronger) call the view; others get 403.

    Anonymous users are sent to the sign-in page. Put it directly on every view
    function (under ``@bp.route``); the app refuses views without it.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")

    def decorate(view: _F) -> _F:
        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            if not has_role(current_user, role):
                abort(403)
            return view(*args, **kwargs)

        setattr(checked, ROLE_ATTRIBUTE, role)
        return cast(_F, checked)

    return decorate


def actor() -> str:
    """The audit actor of the signed-in user: ``ui:<username>``."""
    return f"ui:{current_user.username}"


def _config() -> UiConfig:
    from dataloader_sdk.ui.config import ui_config

    return ui_config()


def _load_password_user(username: str) -> UiPrincipal | None:
    from dataloader_sdk.ui.context import services

    if _config().auth_mode != "password":
        return None
    user = services().users_store().get_ui_user(username)
    if user is None or user.disabled:
        return None
    return UiPrincipal(user.username, user.role, via="password")


def _load_header_user(req: Any) -> UiPrincipal | None:
    cfg = _config()
    if cfg.auth_mode != "trusted_header":
        return None
    email = req.headers.get(cfg.trusted_header_name)
    if not email:
        return None
    if req.remote_addr not in cfg.trusted_proxies:
        log.warning("ignored %s from %s: not a configured trusted proxy",
                    cfg.trusted_header_name, req.remote_addr)
        return None
    email = email.strip().lower()
    role = cfg.header_roles.get(email, cfg.default_role)
    if role is None:
        return None
    return UiPrincipal(email, role, via="header")


def init_auth(app: Flask) -> None:
    """Attach flask-login and the deny-by-default role check to ``app``."""
    manager = LoginManager()
    manager.login_view = "auth.login"
    manager.login_message = "Please sign in."
    manager.login_message_category = "info"
    manager.user_loader(_load_password_user)
    manager.request_loader(_load_header_user)
    manager.init_app(app)

    @app.before_request
    def _deny_undeclared() -> None:
        # Deny by default: a view that forgot @role_required is unreachable, not open.
        endpoint = request.endpoint
        if endpoint is None or endpoint in PUBLIC_ENDPOINTS:
            return
        view = app.view_functions.get(endpoint)
        if view is None or getattr(view, ROLE_ATTRIBUTE, None) is None:
            abort(403)


class LoginForm(FlaskForm):  # type: ignore[misc]
    """Username and password."""

    username = StringField("Username", validators=[DataRequired(), Length(max=255)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(secrets.token_hex(16))


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect would turn the sign-in page into a phishing aid.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("dashboard.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int]:
    """The sign-in page (password mode); in header mode it explains the proxy."""
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    mode = _config().auth_mode
    if mode == "password" and form.validate_on_submit():
        from dataloader_sdk.ui.context import services

        user = services().users_store().get_ui_user(form.username.data)
        # Check a hash even for unknown users, so the answer's timing does not tell
        # which usernames exist.
        hashed = user.password_hash if user is not None else _dummy_hash()
        if (check_password_hash(hashed, form.password.data)
                and user is not None and not user.disabled):
            login_user(UiPrincipal(user.username, user.role, via="password"))
            return redirect(_safe_next(request.args.get("next")))
        # One message for every failure: which usernames exist is not disclosed.
        form.password.errors.append("Unknown user or wrong password.")
    status = 401 if request.method == "POST" else 200
    return render_template("login.html", form=form, mode=mode), status


@bp.route("/logout", methods=["POST"])
@role_required("viewer")
def logout() -> Response:
    """Sign out (a POST, so it carries the CSRF token)."""
    logout_user()
    flash("Signed out.", "info")
    return redirect(url_for("auth.login"))

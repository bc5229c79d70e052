"""CSRF, session cookies and security headers.

* flask-wtf's :class:`CSRFProtect` checks a token on every POST/PUT/PATCH/DELETE (forms
  carry ``{{ csrf_token() }}``; htmx requests send it as ``X-CSRFToken``, added by
  ``static/js/app.js`` from the ``csrf-token`` meta tag). A missing or bad token is a 400.
* Session cookies are HttpOnly and SameSite=Lax, and Secure unless the app is served
  over plain http on a loopback address (``UiConfig.secure_cookies``).
* Every response carries a CSP without inline script or style, frame denial, nosniff
  and a same-origin referrer policy. Pages are never cached (they show live state).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_wtf.csrf import CSRFProtect

if TYPE_CHECKING:
    from flask import Flask
    from werkzeug.wrappers import Response

    from dataloader_sdk.ui.config import UiConfig

__all__ = ["CONTENT_SECURITY_POLICY", "SECURITY_HEADERS", "csrf", "init_security"]

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}

csrf = CSRFProtect()


def init_security(app: Flask, config: UiConfig) -> None:
    """Configure cookies, CSRF and the response headers of ``app``."""
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.secure_cookies,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=config.secure_cookies,
        WTF_CSRF_ENABLED=True,
        WTF_CSRF_TIME_LIMIT=None,  # valid for the session: long-open edit forms still post
    )
    csrf.init_app(app)

    @app.after_request
    def _headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not response.headers.get("Cache-Control"):
            response.headers["Cache-Control"] = "no-store"
        return response

"""The UI's own settings (:class:`UiConfig`) and the current app's (:func:`ui_config`).

Apart from the app factory so that sign-in and security read them without importing it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, cast

from flask import current_app

from dataloader_sdk.control.ui_users import ROLES, Role
from dataloader_sdk.errors import ConfigError

__all__ = ["CONFIG_KEY", "UiConfig", "ui_config"]

#: Where the app keeps its :class:`UiConfig` in ``app.config``.
CONFIG_KEY = "DATALOADER_UI"


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
    return cast(UiConfig, current_app.config[CONFIG_KEY])

"""What a view needs about the current request: the environment, its loader and store.

Views never open stores themselves; they call :func:`loader` / :func:`store` for the
environment the user selected (kept in the session, switched only by the explicit
``POST /env``), and pass :func:`~dataloader_sdk.ui.auth.actor` as the audit actor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from flask import current_app, session

from dataloader_sdk.config import ENVIRONMENTS, Environment
from dataloader_sdk.ui.services import UiServices

if TYPE_CHECKING:
    from dataloader_sdk.control.store import ControlStore
    from dataloader_sdk.loader import DataLoader

__all__ = ["current_env", "is_prod", "loader", "services", "store"]

#: The key of ``app.extensions`` holding the :class:`UiServices`.
EXTENSION = "dataloader_ui"
_SESSION_KEY = "environment"


def services() -> UiServices:
    """The app's :class:`UiServices`."""
    return cast(UiServices, current_app.extensions[EXTENSION])


def current_env() -> Environment:
    """The environment this request views: the session's choice, else the settings'."""
    chosen = session.get(_SESSION_KEY)
    if chosen in ENVIRONMENTS:
        return cast(Environment, chosen)
    return services().settings.environment


def set_env(environment: Environment) -> None:
    """Remember the user's explicit choice of environment."""
    session[_SESSION_KEY] = environment


def is_prod() -> bool:
    """Whether the viewed environment is prod (``dataloader``): pages are marked red."""
    return current_env() == "dataloader"


def loader() -> DataLoader:
    """The loader of the viewed environment (use it for edits: it adds strategy checks)."""
    return services().loader(current_env())


def store() -> ControlStore:
    """The control store of the viewed environment (reads, paging, audit)."""
    return services().store(current_env())

"""Per-environment loaders shared by the requests of one app.

The app views one project (a home) in either environment; the signed-in user picks it
explicitly. Each environment's :class:`DataLoader` (and so its control store's connection
pool) is opened on first use and kept for the app's lifetime.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from dataloader_sdk.config import ENVIRONMENTS, Environment, Settings

if TYPE_CHECKING:
    from dataloader_sdk.control.store import ControlStore
    from dataloader_sdk.loader import DataLoader

__all__ = ["UiServices", "settings_for"]

#: Where the UI's users live: always the prod environment's control DB.
USERS_ENVIRONMENT: Environment = "dataloader"


def settings_for(settings: Settings, environment: Environment) -> Settings:
    """``settings`` switched to ``environment`` (its Delta root follows the template)."""
    if environment == settings.environment:
        return settings
    delta_root = settings.delta_root_template.replace("{environment}", environment)
    is_path = "://" not in delta_root and not delta_root.startswith("uc:")
    if is_path and not Path(delta_root).is_absolute():
        delta_root = str(settings.home / delta_root)
    return replace(settings, environment=environment, delta_root=delta_root)


class UiServices:
    """The loaders (one per environment) of one app; thread-safe."""

    def __init__(self, settings: Settings) -> None:
        """Serve the project of ``settings``; its environment is the default view."""
        self.settings = settings
        self._loaders: dict[str, DataLoader] = {}
        self._lock = threading.Lock()

    @property
    def environments(self) -> tuple[Environment, ...]:
        """The environments a user can switch between."""
        return ENVIRONMENTS

    def loader(self, environment: Environment) -> DataLoader:
        """The environment's loader, opened (and its control DB migrated) on first use."""
        with self._lock:
            loader = self._loaders.get(environment)
            if loader is None:
                from dataloader_sdk.loader import DataLoader

                loader = DataLoader.from_settings(settings_for(self.settings, environment))
                self._loaders[environment] = loader
            return loader

    def store(self, environment: Environment) -> ControlStore:
        """The environment's control store (the loader's)."""
        return self.loader(environment).store

    def users_store(self) -> ControlStore:
        """The store holding the UI users (the prod environment's)."""
        return self.store(USERS_ENVIRONMENT)

    def close(self) -> None:
        """Close every opened loader."""
        with self._lock:
            for loader in self._loaders.values():
                loader.close()
            self._loaders.clear()

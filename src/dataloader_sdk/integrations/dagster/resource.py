"""``DataLoaderResource``: where the control DB and the Delta tables are, for Dagster.

The resource holds *where* (a project home, its environment, the engine), never a secret:
the control DB password comes from the home's settings (``DATALOADER_CONTROL_PASSWORD``)
or from ``control_secret``, an SDK secret reference such as ``env:PGPASS``, resolved only
when the store is opened. A value that is not a reference is refused, so no password ever
lands in a Dagster code location snapshot or run config.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from dataloader_sdk import ConfigError, ControlStore, DataLoader, Settings
from dataloader_sdk import orchestration as orch

__all__ = ["DataLoaderResource"]


class DataLoaderResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Opens the SDK's control store and loader for sensors and assets.

    Attributes:
        home: The project directory (its ``dataloader.toml``); ``None`` reads
            ``DATALOADER_HOME``, then the working directory, when the resource is used.
        environment: ``dataloader`` or ``dataloader_test``; ``None`` keeps the settings'.
        engine: An engine name overriding the settings' (``delta_rs``, ``spark``).
        control_secret: A secret reference (``env:NAME``, ``file:/path``,
            ``databricks:scope/key``) for the control DB password; never the password.
        lease_seconds: How long a run's claim is valid without a heartbeat; the
            long-running monitor fails a run whose lease expired (a live run renews it
            every third of the lease).
        retry_base_seconds: Delay before the first retry of a transient failure (doubled
            per attempt); ``None`` keeps the control store's retry policy.
        retry_max_seconds: The longest retry delay.
        max_retries: Retries after the first failure before ``needs_attention``;
            ``None`` keeps the control store's retry policy.
    """

    home: str | None = None
    environment: str | None = None
    engine: str | None = None
    control_secret: str | None = None
    lease_seconds: int = 3600
    retry_base_seconds: int | None = None
    retry_max_seconds: int = 3600
    max_retries: int | None = None

    def settings(self) -> Settings:
        """The resolved settings (home file, ``DATALOADER_*`` variables, then this resource).

        Raises:
            ConfigError: ``control_secret`` is not a reference, or ``lease_seconds`` < 1.
            ValidationError: the settings themselves are invalid.
        """
        if self.control_secret is not None and ":" not in self.control_secret:
            raise ConfigError(
                "DataLoaderResource.control_secret must be a secret reference such as "
                "'env:NAME' or 'file:/path', never the password itself; set it to a reference"
            )
        if self.lease_seconds < 1:
            raise ConfigError(
                f"DataLoaderResource.lease_seconds must be at least 1, got {self.lease_seconds}"
            )
        settings = Settings.load(Path(self.home) if self.home else None, self.environment)
        changes: dict[str, str] = {}
        if self.engine:
            changes["engine"] = self.engine
        if self.control_secret:
            changes["control_secret"] = self.control_secret
        return dataclasses.replace(settings, **changes) if changes else settings  # type: ignore[arg-type]

    def backoff(self, store: ControlStore) -> orch.Backoff:
        """The retry back-off: this resource's knobs over the store's retry policy."""
        policy = orch.Backoff.from_policy(store.retry, max_seconds=self.retry_max_seconds)
        return orch.Backoff(
            base_seconds=policy.base_seconds if self.retry_base_seconds is None
            else self.retry_base_seconds,
            max_seconds=self.retry_max_seconds,
            max_retries=policy.max_retries if self.max_retries is None else self.max_retries,
        )

    @contextmanager
    def open_store(self) -> Iterator[ControlStore]:
        """The control store, closed on exit (sensors use only the store)."""
        store = self.settings().open_store()
        try:
            yield store
        finally:
            store.close()

    @contextmanager
    def open_loader(self) -> Iterator[DataLoader]:
        """A :class:`~dataloader_sdk.DataLoader` on the store and engine, closed on exit."""
        loader = DataLoader.from_settings(self.settings(), lease_seconds=self.lease_seconds)
        try:
            yield loader
        finally:
            loader.close()

"""Sources and tables of :class:`ControlStore`: add, update, remove, read, reset, unlock.

Each method is one transaction whose work lives in ``sources.py`` and ``tables.py``.
Kept apart from ``store.py`` (lifecycle, transactions, history) and ``store_leases.py``
(scheduling and leases) so each part of the store reads as one job.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

import sqlalchemy as sa

from dataloader_sdk.control import sources, tables
from dataloader_sdk.control.records import BrokenTable
from dataloader_sdk.model import SourceConfig, TableConfig, TableRecord

__all__ = ["ConfigOps"]

_T = TypeVar("_T")


class ConfigOps:
    """Source and table configuration of :class:`~dataloader_sdk.control.store.ControlStore`."""

    environment: str
    _clock: Callable[[], datetime]

    def _run(self, fn: Callable[[sa.Connection], _T], what: str = "complete a store call") -> _T:
        raise NotImplementedError  # pragma: no cover - ControlStore provides it

    def add_source(self, cfg: SourceConfig, *, actor: str) -> SourceConfig:
        """Add a source connection (audited).

        Raises:
            ValidationError: Invalid fields (all listed); nothing is written.
            ConfigError: A source of that name exists.
        """
        now = self._clock()
        return self._run(lambda c: sources.add_source(
            c, cfg, actor=actor, now=now, environment=self.environment))

    def update_source(
        self, cfg: SourceConfig, *, actor: str, expected_version: int | None = None
    ) -> SourceConfig:
        """Replace the config of the source named ``cfg.name`` (audited, version bumped).

        Raises:
            ValidationError: Invalid fields; nothing is written.
            UnknownNameError: No such source.
            StaleVersionError: ``expected_version`` given and no longer current.
        """
        now = self._clock()
        return self._run(lambda c: sources.update_source(
            c, cfg, actor=actor, now=now, environment=self.environment,
            expected_version=expected_version))

    def remove_source(self, name: str, *, actor: str) -> None:
        """Remove a source (audited).

        Raises:
            UnknownNameError: No such source.
            ConfigError: Tables still use it (they are named).
        """
        now = self._clock()
        self._run(lambda c: sources.remove_source(
            c, name, actor=actor, now=now, environment=self.environment))

    def get_source(self, name: str) -> SourceConfig:
        """One source. Raises :class:`UnknownNameError` listing the known sources."""
        return self._run(lambda c: sources.get_source(c, name))

    def source_version(self, name: str) -> int:
        """The source's optimistic-locking version (for ``update_source``)."""
        return self._run(lambda c: sources.source_version(c, name))

    def list_sources(self) -> list[SourceConfig]:
        """Every source, sorted by name."""
        return self._run(sources.list_sources)

    # ------------------------------------------------------------------ tables

    def add_table(self, cfg: TableConfig, *, actor: str) -> TableRecord:
        """Add a table to load (status ``idle``, empty state; audited).

        Raises:
            ValidationError: Invalid fields (all listed); nothing is written.
            UnknownNameError: Its source does not exist.
            ConfigError: A table of that name exists.
        """
        now = self._clock()
        return self._run(lambda c: tables.add_table(
            c, cfg, actor=actor, now=now, environment=self.environment))

    def update_table(
        self, cfg: TableConfig, *, expected_version: int, actor: str
    ) -> TableRecord:
        """Replace the config of the table named ``cfg.name`` (audited, version bumped).

        Status, state and schedule are kept.

        Raises:
            ValidationError: Invalid fields; nothing is written.
            UnknownNameError: No such table, or its new source does not exist.
            StaleVersionError: Someone changed it since ``expected_version``; reload, retry.
        """
        now = self._clock()
        return self._run(lambda c: tables.update_table(
            c, cfg, expected_version=expected_version, actor=actor, now=now,
            environment=self.environment))

    def remove_table(self, name: str, *, actor: str) -> None:
        """Remove a table's control row (its run history is kept; audited).

        Raises:
            UnknownNameError: No such table.
            StateError: It is running.
        """
        now = self._clock()
        self._run(lambda c: tables.remove_table(
            c, name, actor=actor, now=now, environment=self.environment))

    def get_table(self, name: str) -> TableRecord:
        """One table. Raises :class:`UnknownNameError` listing the known tables."""
        return self._run(lambda c: tables.get_table(c, name))

    def get_tables(self, names: Sequence[str]) -> list[TableRecord]:
        """The tables ``names``, in that order, in one read; the first unknown name raises
        :class:`UnknownNameError` (listing the known tables)."""
        return self._run(lambda c: tables.get_tables(c, names), "read the tables")

    def list_tables(self) -> list[TableRecord]:
        """Every readable table, sorted by name (unreadable rows: :meth:`broken_tables`)."""
        return self._run(tables.list_tables, "list the tables")

    def broken_tables(self) -> list[BrokenTable]:
        """Rows of ``table_control`` that cannot be read (edited by hand), with the reason."""
        return self._run(tables.broken_tables, "list the broken tables")

    def reset_state(self, name: str, *, actor: str) -> TableRecord:
        """Forget a table's state (watermark, progress): the next run starts over. Audited.

        Raises:
            UnknownNameError: No such table.
            StateError: It is running.
        """
        now = self._clock()
        return self._run(lambda c: tables.reset_state(
            c, name, actor=actor, now=now, environment=self.environment))

    def unlock(self, name: str, *, actor: str, reason: str) -> TableRecord:
        """Release a running table's lease by hand (status ``cancelled``; audited).

        Raises:
            UnknownNameError: No such table.
            StateError: It is not running.
        """
        now = self._clock()
        return self._run(lambda c: tables.unlock(
            c, name, actor=actor, reason=reason, now=now, environment=self.environment))

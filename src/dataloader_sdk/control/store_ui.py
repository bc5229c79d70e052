"""What the web UI needs from :class:`ControlStore` beyond the CLI's calls.

A paged, filtered table listing and per-status counts (``table_listing``), and the UI's
sign-in users (``ui_users``). Each method is one transaction. Kept apart from
``store.py`` like ``store_operations.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

import sqlalchemy as sa

from dataloader_sdk.control.dashboard import RecentFailure, RunBucket, StuckRow
from dataloader_sdk.control.findings import Freshness
from dataloader_sdk.control.table_listing import TablePage, TableQuery
from dataloader_sdk.control.ui_users import UiUser

__all__ = ["UiOps"]

_T = TypeVar("_T")


class UiOps:
    """Table paging and UI users of :class:`~dataloader_sdk.control.store.ControlStore`."""

    environment: str
    _clock: Callable[[], datetime]

    def _run(self, fn: Callable[[sa.Connection], _T], what: str = "complete a store call") -> _T:
        raise NotImplementedError  # pragma: no cover - ControlStore provides it

    def list_table_page(self, query: TableQuery | None = None) -> TablePage:
        """One page of tables, filtered, searched and sorted in the database.

        Raises:
            ValidationError: A bad sort, status, page or page size (all listed).
        """
        from dataloader_sdk.control import table_listing
        return self._run(lambda c: table_listing.list_table_page(c, query or TableQuery()),
                         "list a page of tables")

    def status_counts(self) -> dict[str, int]:
        """How many tables are in each status (zeros included)."""
        from dataloader_sdk.control import table_listing
        return self._run(table_listing.status_counts, "count the tables by status")

    def tables_in_status(self, status: str, *, limit: int = 50) -> list[str]:
        """Up to ``limit`` names of the tables in ``status``, sorted."""
        from dataloader_sdk.control import dashboard
        return self._run(lambda c: dashboard.tables_in_status(c, status, limit),
                         f"list the {status} tables")

    def recent_failures(self, *, limit: int = 20) -> list[RecentFailure]:
        """The newest failed runs with their error class, newest first."""
        from dataloader_sdk.control import dashboard
        return self._run(lambda c: dashboard.recent_failures(c, limit),
                         "read the recent failures")

    def stuck_tables(self, *, now: datetime, queued_for: timedelta = timedelta(minutes=30),
                     running_for: timedelta = timedelta(hours=2),
                     limit: int = 50) -> list[StuckRow]:
        """Tables queued or running for too long (reported only; nothing is changed)."""
        from dataloader_sdk.control import dashboard
        return self._run(lambda c: dashboard.stuck_tables(
            c, now=now, queued_for=queued_for, running_for=running_for, limit=limit),
            "find long-queued and long-running tables")

    def run_buckets(self, *, now: datetime, hours: int = 48) -> list[RunBucket]:
        """Runs of the last ``hours`` hours, per hour: count, failures, rows, duration."""
        from dataloader_sdk.control import dashboard
        return self._run(lambda c: dashboard.run_buckets(c, now=now, hours=hours),
                         "summarise the run history")

    def late_tables(self, *, now: datetime, limit: int = 50) -> list[Freshness]:
        """Scheduled tables past their freshness SLA (control DB only), latest first."""
        from dataloader_sdk.control import dashboard
        return self._run(lambda c: dashboard.late_tables(c, now=now, limit=limit),
                         "find the late tables")

    def add_ui_user(self, username: str, *, role: str, password_hash: str) -> UiUser:
        """Add a UI user (``password_hash`` from werkzeug's ``generate_password_hash``).

        Raises:
            ValidationError: Bad name, role or hash; nothing is written.
            ConfigError: The user exists.
        """
        from dataloader_sdk.control import ui_users
        now = self._clock()
        return self._run(lambda c: ui_users.add_user(
            c, username, role=role, password_hash=password_hash, now=now), "add a UI user")

    def get_ui_user(self, username: str) -> UiUser | None:
        """The user with its password hash (for signing in), or ``None``."""
        from dataloader_sdk.control import ui_users
        return self._run(lambda c: ui_users.get_user(c, username), "read a UI user")

    def list_ui_users(self) -> list[UiUser]:
        """Every UI user (no hashes), sorted by name."""
        from dataloader_sdk.control import ui_users
        return self._run(ui_users.list_users, "list the UI users")

    def set_ui_user_disabled(self, username: str, *, disabled: bool = True) -> UiUser:
        """Disable (or re-enable) a UI user.

        Raises:
            UnknownNameError: No such user.
        """
        from dataloader_sdk.control import ui_users
        return self._run(lambda c: ui_users.set_disabled(c, username, disabled=disabled),
                         "disable a UI user")

"""What a control store promises: the :class:`ControlStoreProtocol` every store implements.

Two implementations keep it: :class:`~dataloader_sdk.control.store.ControlStore` (SQLite or
PostgreSQL through SQLAlchemy) and
:class:`~dataloader_sdk.testing.memory_store.InMemoryControlStore` (a plain-Python double
for plugin authors' unit tests). ``tests/unit/test_control_store.py`` runs the same tests
against both, so the double is held to the database's semantics: leases with expiry and
takeover, optimistic versions, the status machine, audit and run history, and
all-or-nothing :meth:`~ControlStoreProtocol.together` calls.

The protocol is split by job so a caller can ask for only what it uses:
:class:`RunStore` (what a load needs: claims, state, history), :class:`ConfigStore`
(sources, tables, status changes by hand, audit). The SQL store has more besides
(orchestration, UI paging, bulk edits; ``store_orchestration.py``, ``store_ui.py``,
``store_operations.py``): those are reporting queries of the database and stay
SQL-only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Literal, Protocol, TypeVar, runtime_checkable

from dataloader_sdk.control.records import AuditEntry, BrokenTable, Claim
from dataloader_sdk.control.unchanged import UnchangedRun
from dataloader_sdk.model import RunRecord, SourceConfig, TableConfig, TableRecord, TableState, TableStatus

__all__ = ["ConfigStore", "ControlStoreProtocol", "FinishStatus", "RunStore"]

_T = TypeVar("_T")

FinishStatus = Literal["succeeded", "failed", "skipped", "cancelled"]


@runtime_checkable
class RunStore(Protocol):
    """The calls a load makes: leases, state, run history (the runner's side)."""

    #: ``dataloader`` (prod) or ``dataloader_test`` (pre-prod).
    environment: str

    @property
    def control_id(self) -> str:
        """This control database's id, written into every Delta commit of its runs."""
        ...

    def get_source(self, name: str) -> SourceConfig:
        """One source (:class:`~dataloader_sdk.errors.UnknownNameError` if none)."""
        ...

    def get_table(self, name: str) -> TableRecord:
        """One table (:class:`~dataloader_sdk.errors.UnknownNameError` if none)."""
        ...

    def enqueue_due(self, *, now: datetime) -> list[str]:
        """Queue every due table; their names, highest priority first."""
        ...

    def claim(
        self, name: str, *, owner: str, lease_seconds: int, now: datetime,
        run: Callable[[TableRecord], RunRecord] | None = None,
    ) -> Claim:
        """Take the table's lease (an expired one is taken over); with ``run``, record
        the run's history row in the same transaction."""
        ...

    def claim_due(
        self, *, owner: str, limit: int, lease_seconds: int, now: datetime
    ) -> list[Claim]:
        """Claim up to ``limit`` queued tables, lowest ``priority`` number first."""
        ...

    def save_state(self, claim: Claim, state: TableState) -> None:
        """Store the table's state while ``claim`` holds (else ``LeaseError``)."""
        ...

    def renew(self, claim: Claim, *, now: datetime, lease_seconds: int) -> Claim:
        """Extend the lease while ``claim`` holds (else ``LeaseError``)."""
        ...

    def finish(
        self, claim: Claim, *, status: FinishStatus, now: datetime, permanent: bool = False,
    ) -> TableRecord:
        """Release the lease, record the outcome and schedule the next run."""
        ...

    def record_run(self, run: RunRecord) -> None:
        """Insert the run's history row, or update it (same ``run_id``)."""
        ...

    def settle_unchanged(
        self, runs: Sequence[UnchangedRun], *, now: datetime
    ) -> list[UnchangedRun]:
        """Record runs that committed nothing, all in one transaction, each only while
        its table is still as read (or its claim holds); returns the ones recorded."""
        ...

    def runs(self, table: str | None = None, limit: int = 50) -> list[RunRecord]:
        """The newest runs, newest first (by start time, then run id)."""
        ...

    def together(self, calls: Callable[[], _T], what: str = "complete store calls") -> _T:
        """Run several calls of this store as one all-or-nothing transaction."""
        ...

    def close(self) -> None:
        """Release the store's resources."""
        ...


@runtime_checkable
class ConfigStore(Protocol):
    """Sources, tables, hand-made status changes and the audit log (the operator's side)."""

    def add_source(self, cfg: SourceConfig, *, actor: str) -> SourceConfig:
        """Add a source (audited)."""
        ...

    def update_source(
        self, cfg: SourceConfig, *, actor: str, expected_version: int | None = None
    ) -> SourceConfig:
        """Replace a source's config (audited, version bumped)."""
        ...

    def remove_source(self, name: str, *, actor: str) -> None:
        """Remove a source no table uses (audited)."""
        ...

    def source_version(self, name: str) -> int:
        """The source's optimistic-locking version."""
        ...

    def list_sources(self) -> list[SourceConfig]:
        """Every source, sorted by name."""
        ...

    def add_table(self, cfg: TableConfig, *, actor: str) -> TableRecord:
        """Add a table (``idle``, empty state; audited)."""
        ...

    def update_table(
        self, cfg: TableConfig, *, expected_version: int, actor: str
    ) -> TableRecord:
        """Replace a table's config if ``expected_version`` is current (audited)."""
        ...

    def remove_table(self, name: str, *, actor: str) -> None:
        """Remove a table that is not running (audited; its run history stays)."""
        ...

    def get_tables(self, names: Sequence[str]) -> list[TableRecord]:
        """The tables ``names``, in that order (the first unknown name raises
        :class:`~dataloader_sdk.errors.UnknownNameError`)."""
        ...

    def list_tables(self) -> list[TableRecord]:
        """Every readable table, sorted by name."""
        ...

    def broken_tables(self) -> list[BrokenTable]:
        """Stored tables that cannot be read, with the reason."""
        ...

    def reset_state(self, name: str, *, actor: str) -> TableRecord:
        """Forget the table's state and give it a new incarnation (audited)."""
        ...

    def unlock(self, name: str, *, actor: str, reason: str) -> TableRecord:
        """Release a running table's lease by hand (``cancelled``; audited)."""
        ...

    def set_status(
        self, name: str, to: TableStatus, *, actor: str, reason: str
    ) -> TableRecord:
        """Change a table's status as the state machine allows (audited)."""
        ...

    def audit_log(self, entity: str | None = None, limit: int = 100) -> list[AuditEntry]:
        """The newest audit entries, newest first."""
        ...


@runtime_checkable
class ControlStoreProtocol(RunStore, ConfigStore, Protocol):
    """Everything :class:`RunStore` and :class:`ConfigStore` promise: a whole store."""

"""Table maintenance for schedulers: a monitor tick or an asset runs what is due."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from dataloader_sdk.maintenance import MaintenanceReport, maintain_tables

if TYPE_CHECKING:
    from dataloader_sdk.loader import DataLoader

__all__ = ["run_maintenance"]


def run_maintenance(
    loader: DataLoader,
    names: Sequence[str] | None = None,
    *,
    due_only: bool = True,
    dry_run: bool = False,
    now: datetime | None = None,
) -> list[MaintenanceReport]:
    """Compact, checkpoint and vacuum tables with the loader's store and engine.

    By default every table (``names=None``) gets what its policy says is due, the same as
    ``dataloader maintain --due``; ``due_only=False`` runs every step on ``names``.
    Failures come back as reports with ``status="failed"`` (and are recorded in the
    table's bookkeeping); nothing is raised for them, so one table does not stop the rest.

    Raises:
        UnknownNameError: an unknown name (nothing was maintained).
    """
    return maintain_tables(loader.store, loader.engine, names, due_only=due_only,
                           dry_run=dry_run, now=now)

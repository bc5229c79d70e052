"""Reconciling a table's control state with its Delta table before a run plans.

The Delta commit is the truth: a run that crashed after its commit but before its state
update left the control DB one step behind, and the next run rolls the state forward from
the commit's metadata. A target whose newest dataloader commit came from another control
database (or environment) is refused, never rolled forward from.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from dataloader_sdk.control.identity import parse_app_id
from dataloader_sdk.errors import ForeignCommitError
from dataloader_sdk.model import CommitInfo, TableRecord, TableState

if TYPE_CHECKING:
    from dataloader_sdk.control.protocol import RunStore
    from dataloader_sdk.control.store import Claim
    from dataloader_sdk.engines.base import Engine

__all__ = ["reconcile", "refuse_foreign"]

# The runner's logger: the repair warning is part of what a run reports.
log = logging.getLogger("dataloader_sdk.runner")


def reconcile(
    store: RunStore, engine: Engine, claim: Claim, table: TableRecord, own: str
) -> TableState:
    """Refuse a foreign table; roll the control state forward from a newer own commit."""
    target = table.config.target
    newest = refuse_foreign(store, engine, table)
    state = table.state
    if newest is not None and newest.app_id == own:
        # The newest dataloader commit is this incarnation's: its steps only ever grow,
        # so that commit holds the recorded version (saves a second snapshot load).
        recorded: int | None = newest.txn_version
    else:
        recorded = engine.recorded_version(target, own)
    if recorded is None or recorded <= state.txn_version:
        return state  # the common case: no history scan
    last = newest if newest is not None and newest.app_id == own \
        else engine.last_commit(target, own)
    if last is not None and last.txn_version > state.txn_version:
        log.warning(
            "table %s: target %s holds step %d but the control DB only step %d; "
            "repairing the control state from the Delta commit of run %s",
            table.name, target, last.txn_version, state.txn_version, last.run_id,
        )
        state = last.state_after
        store.save_state(claim, state)
    return state


def refuse_foreign(store: RunStore, engine: Engine, table: TableRecord) -> CommitInfo | None:
    """Refuse a target whose newest dataloader commit came from another control DB;
    return that commit (``None``: none among the last few versions)."""
    newest = engine.newest_commit(table.config.target)
    owner = parse_app_id(newest.app_id) if newest is not None else None
    if owner is None:
        return newest  # no dataloader commit, or one from before identities (legacy)
    environment, control, _ = owner
    mine = (store.environment, store.control_id)
    if (environment, control) != mine:
        raise ForeignCommitError(
            f"table {table.name!r}: target {table.config.target} was last written by "
            f"environment {environment!r} of control DB {control} (run "
            f"{newest.run_id if newest else '?'}), but this run belongs to environment "
            f"{mine[0]!r} of control DB {mine[1]}. Two control databases must never "
            "share a Delta table: give each environment its own delta_root (the default "
            "'.dataloader/delta/{environment}') or its own catalog. Nothing was written."
        )
    return newest

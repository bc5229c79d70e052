"""One table run, launched by a scheduler: the body of an asset, a task or a Pipes script."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from dataloader_sdk.errors import ConfigError
from dataloader_sdk.model import RunRecord, utcnow

if TYPE_CHECKING:
    from dataloader_sdk.loader import DataLoader

__all__ = ["run_table"]


def run_table(
    loader: DataLoader,
    name: str,
    *,
    queue_token: str | None = None,
    orchestrator_run_id: str | None = None,
    raise_on_error: bool = True,
) -> RunRecord:
    """Run table ``name`` once, recording ``orchestrator_run_id`` in its run history.

    With ``queue_token`` (from :class:`QueuedTable`), the run claims exactly that
    enqueue: the token must still be the table's, so a launch that arrives late (the
    table already ran for it, or was enqueued again since) changes nothing and raises
    :class:`StaleQueueTokenError`. Without it, the table is claimed whatever its status
    (a manual run, as ``DataLoader.load_table``).

    Args:
        loader: The loader (control store + engine) to run with.
        name: The table's name.
        queue_token: The token the scheduler received with the table.
        orchestrator_run_id: The scheduler's id of this run (a Dagster run id, an
            Airflow ``run_id``), stored in ``historical_metadata.orchestrator_run_id``.
        raise_on_error: Raise the run's (recorded, redacted) error when it fails;
            ``False`` returns the failed record instead.

    Returns:
        The run's history record (``succeeded``, ``skipped`` or, when not raising,
        ``failed``).

    Raises:
        StaleQueueTokenError: The token is stale; nothing ran or changed.
        UnknownNameError: No such table.
        LeaseError: Another worker runs the table.
        DataLoaderError: The run failed (recorded in history) and ``raise_on_error``.
    """
    if orchestrator_run_id is not None and (
        not isinstance(orchestrator_run_id, str) or not 0 < len(orchestrator_run_id) <= 255
    ):
        raise ConfigError(
            f"orchestrator_run_id for table {name!r} must be a string of 1 to 255 "
            f"characters, got {orchestrator_run_id!r}"
        )
    if queue_token is None:
        return loader.load_table(name, raise_on_error=raise_on_error,
                                 orchestrator_run_id=orchestrator_run_id)
    claim = loader.store.orchestration_claim(
        name, queue_token, owner=f"{loader.worker_id}:{threading.get_ident()}",
        lease_seconds=loader.lease_seconds, now=utcnow(),
    )
    return loader.run_claim(claim, raise_on_error=raise_on_error,
                            orchestrator_run_id=orchestrator_run_id)

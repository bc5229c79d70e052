"""The table status state machine: the one place that knows which changes are allowed.

Every status change made by the store goes through :func:`check_transition`; nothing else
in the code base compares statuses to decide whether a change is legal.

::

    idle ──► queued ──► running ──► succeeded | failed | skipped | cancelled
    succeeded | skipped | cancelled | failed | needs_attention | idle ──► queued
                                      (schedule / manual)
    failed ──► needs_attention        (permanent error or retries exhausted)
    queued | running ──► failed       (monitors: stuck)
    needs_attention ──► idle          (operator acknowledges)
"""

from __future__ import annotations

from collections.abc import Mapping

from dataloader_sdk.errors import InvalidTransitionError
from dataloader_sdk.model import TABLE_STATUSES, TableStatus

__all__ = ["TRANSITIONS", "allowed_targets", "check_transition", "is_allowed"]

TRANSITIONS: Mapping[TableStatus, frozenset[TableStatus]] = {
    "idle": frozenset({"queued"}),
    "queued": frozenset({"running", "failed"}),
    # cancelled: stopped by the user (Ctrl-C / SIGTERM) or released by `tables unlock`.
    "running": frozenset({"succeeded", "failed", "skipped", "cancelled"}),
    "succeeded": frozenset({"queued"}),
    "skipped": frozenset({"queued"}),
    "cancelled": frozenset({"queued"}),
    "failed": frozenset({"queued", "needs_attention"}),
    "needs_attention": frozenset({"queued", "idle"}),
}

# A new status added to the model without a row here would silently be a dead end.
assert set(TRANSITIONS) == set(TABLE_STATUSES), "every TableStatus needs a TRANSITIONS row"


def allowed_targets(current: TableStatus) -> frozenset[TableStatus]:
    """The statuses a table in ``current`` may move to."""
    return TRANSITIONS.get(current, frozenset())


def is_allowed(current: TableStatus, to: TableStatus) -> bool:
    """Whether ``current → to`` is an allowed transition."""
    return to in allowed_targets(current)


def check_transition(table: str, current: str, to: str) -> TableStatus:
    """Validate ``current → to`` for ``table`` and return ``to`` typed as a status.

    Args:
        table: The table's name, for the error message.
        current: The status the table is in now (as read from the database).
        to: The status requested.

    Returns:
        ``to``, narrowed to :data:`~dataloader_sdk.model.TableStatus`.

    Raises:
        InvalidTransitionError: ``to`` is not a status, or the change is not allowed.
    """
    if current not in TABLE_STATUSES:
        raise InvalidTransitionError(
            f"table {table!r} has unknown status {current!r} in the control database; "
            f"set it to one of {', '.join(TABLE_STATUSES)} with set_status"
        )
    if to not in TABLE_STATUSES:
        raise InvalidTransitionError(
            f"cannot move table {table!r} to {to!r}: not a status; "
            f"use one of {', '.join(TABLE_STATUSES)}"
        )
    cur, target = current, to
    if target not in TRANSITIONS[cur]:
        allowed = ", ".join(sorted(TRANSITIONS[cur])) or "(none)"
        raise InvalidTransitionError(
            f"table {table!r} cannot go from {cur!r} to {target!r}; "
            f"from {cur!r} it may go to: {allowed}"
        )
    return target

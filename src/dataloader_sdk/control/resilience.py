"""Bounded retries for control-database calls, and one error class for what is left.

A control database can drop a connection, restart, time out or (SQLite) stay locked by
another writer. Each store call is one transaction, so a call that failed changed nothing
and can run again. :func:`run_with_retries` retries transient failures with exponential
backoff and then raises :class:`~dataloader_sdk.errors.ControlStoreUnavailableError`
(retryable), so callers never see a raw driver exception.

The one case a retry cannot see is a commit whose acknowledgement was lost: the store's
operations that matter there (``claim``, ``finish``) recognise their own earlier success
(see ``control/scheduling.py``), and the others (``record_run``, ``save_state``,
``renew``) are idempotent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import sqlalchemy as sa

from dataloader_sdk.errors import ControlStoreUnavailableError, StateError
from dataloader_sdk.secrets import redact

__all__ = ["ControlRetry", "is_locked", "is_transient", "run_with_retries"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")


@dataclass(frozen=True)
class ControlRetry:
    """How often, and how patiently, a failed control-DB call is tried again.

    Attributes:
        attempts: Tries in all (1 = no retry).
        first_delay: Seconds before the first retry; each next delay is 4x longer.
        max_delay: Cap of a single delay.
    """

    attempts: int = 4
    first_delay: float = 0.05
    max_delay: float = 2.0

    def delays(self) -> list[float]:
        """The pauses between attempts."""
        return [min(self.first_delay * 4**i, self.max_delay) for i in range(self.attempts - 1)]


def is_locked(exc: BaseException) -> bool:
    """SQLite's "database is locked": another writer held it past the busy timeout."""
    return isinstance(exc, sa.exc.OperationalError) and "locked" in str(exc.orig).lower()


def is_transient(exc: BaseException) -> bool:
    """Whether a database error may go away by itself (connection, timeout, restart)."""
    if isinstance(exc, sa.exc.TimeoutError):  # the connection pool was exhausted
        return True
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    return bool(exc.connection_invalidated) or isinstance(
        exc, sa.exc.OperationalError | sa.exc.InterfaceError
    )


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return redact(f"{type(orig).__name__}: {lines[0] if lines else ''}".rstrip(": "))


def run_with_retries(
    call: Callable[[], _T],
    *,
    what: str,
    where: str,
    policy: ControlRetry,
    sleep: Callable[[float], None] = time.sleep,
) -> _T:
    """Run ``call`` (one whole transaction); retry transient database failures.

    Args:
        call: The transaction to run; must be safe to run again after a failure.
        what: What the call does, for messages ("save the state of table 'orders'").
        where: The control database, described without its password.
        policy: Attempts and backoff.
        sleep: Injectable for tests.

    Raises:
        ControlStoreUnavailableError: Still failing after the last attempt, or locked.
        StateError: A database error that retrying cannot fix (a constraint, bad SQL).
    """
    delays = policy.delays()
    attempt = 0
    while True:
        try:
            return call()
        except sa.exc.SQLAlchemyError as exc:
            if is_locked(exc):
                # The busy timeout already waited; waiting more in a loop would only
                # hide a stuck writer.
                raise ControlStoreUnavailableError(
                    f"control database {where} is locked by another process past the busy "
                    f"timeout, so this store call could not {what}; find the process that "
                    "holds it (a long transaction, a DB browser) or retry later. Nothing "
                    "was written by this call."
                ) from None
            if not is_transient(exc):
                if isinstance(exc, sa.exc.DBAPIError):
                    raise StateError(
                        f"control database {where} refused to {what}: {_first_line(exc)}. "
                        "Check the schema is migrated (dataloader doctor) and nobody edited "
                        "the control tables by hand."
                    ) from None
                raise
            if attempt >= len(delays):
                raise ControlStoreUnavailableError(
                    f"control database {where} is unavailable: could not {what} after "
                    f"{attempt + 1} attempts ({_first_line(exc)}). Check that it is up and "
                    "reachable; the run is retried once it is."
                ) from None
            delay = delays[attempt]
            log.warning("control database %s: %s failed (%s); retry %d of %d in %.2f s",
                        where, what, _first_line(exc), attempt + 1, len(delays), delay)
            attempt += 1
            sleep(delay)

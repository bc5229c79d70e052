"""The retry analysis: for each failed table, requeue it or ask for attention.

The decision is a pure function of the failure (:func:`decide`) — its error class,
the attempts so far and the back-off — so it is the same whatever drives it (the Dagster
retry asset, ``dataloader monitor``, a test):

* a permanent error class (``retryable`` is false on the SDK's error class of that
  name, e.g. ``SourcePermanentError``, ``ConfigError``, ``DestinationError``) → ``needs_attention``;
* retries exhausted (more failures than ``max_retries``) → ``needs_attention``;
* otherwise the retry is due ``min(max_seconds, base_seconds * 2**(attempts-1))`` after
  the failure: ``requeue`` (with a new queue token) once due, else ``wait``.

Transient classes: every SDK error class whose ``retryable`` is true
(``SourceTransientError`` and its subclasses, ``LeaseError``, ...), ``stalled`` (the
monitors' class for a stuck run), and no class at all (failed by hand: the runner
itself moves permanent failures straight to ``needs_attention``). An unknown class name
is treated as permanent: nothing says retrying helps.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from dataloader_sdk.control.findings import FailedTable, RetryDecision
from dataloader_sdk.control.monitoring import STALLED
from dataloader_sdk.errors import ConfigError, DataLoaderError

if TYPE_CHECKING:
    from dataloader_sdk.control.scheduling import RetryPolicy
    from dataloader_sdk.control.store import ControlStore

__all__ = ["Backoff", "analyse_retries", "decide", "find_failed", "is_transient"]


@dataclass(frozen=True)
class Backoff:
    """Exponential back-off with a cap, and how many retries there are.

    Attributes:
        base_seconds: Delay before the first retry.
        max_seconds: The longest delay (the cap).
        max_retries: Retries after the first failure before ``needs_attention``
            (``3``: one run and three retries), as the store's ``RetryPolicy``.
    """

    base_seconds: int = 60
    max_seconds: int = 3600
    max_retries: int = 3

    def __post_init__(self) -> None:
        for name in ("base_seconds", "max_seconds", "max_retries"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"Backoff.{name} must be a non-negative integer, "
                                  f"got {value!r}")

    @classmethod
    def from_policy(cls, policy: RetryPolicy, *, max_seconds: int = 3600) -> Backoff:
        """The store's retry policy (its delay as the base), capped at ``max_seconds``."""
        return cls(base_seconds=policy.delay_seconds,
                   max_seconds=max(max_seconds, policy.delay_seconds),
                   max_retries=policy.max_retries)

    def delay(self, attempts: int) -> timedelta:
        """How long after the ``attempts``-th failure the next retry is due."""
        exponent = max(attempts - 1, 0)
        # Capped before multiplying out, so a large attempt count cannot overflow.
        seconds = self.max_seconds if exponent >= 32 else min(
            self.max_seconds, self.base_seconds * 2 ** exponent)
        return timedelta(seconds=seconds)


def _error_classes() -> Iterator[type[DataLoaderError]]:
    pending: list[type[DataLoaderError]] = [DataLoaderError]
    while pending:
        cls = pending.pop()
        yield cls
        pending.extend(cls.__subclasses__())


def is_transient(error_class: str | None) -> bool:
    """Whether a failure recorded with ``error_class`` (a class name) is worth retrying.

    See the module docstring for the rules. Plugin error classes count once their
    module is imported (they subclass the SDK's errors).
    """
    if error_class is None or error_class == STALLED:
        return True
    return any(cls.__name__ == error_class and cls.retryable for cls in _error_classes())


def decide(failed: FailedTable, backoff: Backoff, now: datetime) -> RetryDecision:
    """The retry decision for one failed table (pure; see the module docstring)."""
    cls = failed.error_class or "no recorded error"
    transient = is_transient(failed.error_class)
    tries = f"{failed.attempts} failure{'s' if failed.attempts != 1 else ''}"
    if not transient:
        return RetryDecision(
            name=failed.name, action="needs_attention", error_class=failed.error_class,
            attempts=failed.attempts, transient=False,
            reason=(f"permanent error {cls} after {tries}: retrying will not help; fix "
                    "the cause, then `dataloader tables ack` the table"),
        )
    if failed.attempts > backoff.max_retries:
        return RetryDecision(
            name=failed.name, action="needs_attention", error_class=failed.error_class,
            attempts=failed.attempts, transient=True,
            reason=(f"retries exhausted: {tries} (last {cls}), {backoff.max_retries} "
                    "retries allowed; check the source, then `dataloader tables ack` it"),
        )
    retry_at = failed.failed_at + backoff.delay(failed.attempts)
    retry_no = max(failed.attempts, 1)
    if now >= retry_at:
        return RetryDecision(
            name=failed.name, action="requeue", error_class=failed.error_class,
            attempts=failed.attempts, transient=True, retry_at=retry_at,
            reason=(f"transient error {cls}: retry {retry_no} of {backoff.max_retries} "
                    f"(back-off {int(backoff.delay(failed.attempts).total_seconds())}s)"),
        )
    return RetryDecision(
        name=failed.name, action="wait", error_class=failed.error_class,
        attempts=failed.attempts, transient=True, retry_at=retry_at,
        reason=(f"transient error {cls}: retry {retry_no} of {backoff.max_retries} due at "
                f"{retry_at.isoformat()}"),
    )


def find_failed(store: ControlStore) -> list[FailedTable]:
    """Every table in ``failed``, with its attempts and last error, by name."""
    return store.orchestration_failed()


def analyse_retries(
    store: ControlStore,
    *,
    now: datetime,
    backoff: Backoff | None = None,
    limit: int | None = None,
) -> list[RetryDecision]:
    """Decide and apply the retry of every failed table (the retry asset's work).

    ``requeue`` moves the table to ``queued`` with a new queue token (the next
    :func:`enqueue_due` hands it out); ``needs_attention`` stops it until
    ``dataloader tables ack``; ``wait`` sets ``next_run_at`` to the retry time. Each
    change writes an audit row and appends the reason to the failed run's history note.
    The tables are locked while deciding, so two analyses never act on one table twice.

    Args:
        store: The control store.
        now: The analysis' time.
        backoff: The policy; default :meth:`Backoff.from_policy` of ``store.retry``.
        limit: Decide at most this many tables per call.

    Returns:
        One decision per failed table, by name.
    """
    policy = backoff or Backoff.from_policy(store.retry)
    return store.orchestration_apply_retries(
        lambda failed: decide(failed, policy, now), now=now, limit=limit)

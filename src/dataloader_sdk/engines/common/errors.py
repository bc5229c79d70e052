"""How both Delta engines report failures: error text and transient/permanent classification.

A Delta-side failure is *transient* (:class:`DestinationTransientError`, retryable) when
running the same step again can succeed without a config change:

* disk full (``ENOSPC``, ``EDQUOT``) and permission denied (``EACCES``, ``EPERM``) on the
  table's storage: an operator frees space or fixes the permission, and the step is
  retried with the same version;
* a commit conflict with a concurrent writer (delta-rs ``CommitFailedError``; Delta on
  Spark's ``ConcurrentAppendException``, ``ConcurrentDeleteReadException``,
  ``MetadataChangedException`` and the other ``DeltaConcurrentModificationException``
  kinds): the next attempt starts from the new snapshot.

delta-rs reports storage failures as ``DeltaError``/``OSError`` whose text carries the OS
error (``... No space left on device (os error 28)``) but no ``errno``; Spark wraps them in
Java exceptions. Both are recognised by their exception types and by these markers in the
text of the exception or any exception it was raised from.
"""

from __future__ import annotations

import contextlib
import errno
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from dataloader_sdk.errors import DataLoaderError, DestinationError, DestinationTransientError

__all__ = ["counting_rows", "destination_error", "failures_as_destination_errors", "first_line",
           "is_transient", "reading_history"]

#: OS errors after which a retry can succeed (space freed, permission fixed).
TRANSIENT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM})

#: Exception class names of commit conflicts (delta-rs, delta-spark Python and Java).
_CONFLICT_TYPES = frozenset({
    "CommitFailedError",
    "DeltaConcurrentModificationException",
    "ConcurrentModificationException",
    "ConcurrentWriteException",
    "ConcurrentAppendException",
    "ConcurrentDeleteReadException",
    "ConcurrentDeleteDeleteException",
    "ConcurrentTransactionException",
    "MetadataChangedException",
    "ProtocolChangedException",
})
_OS_ERROR = re.compile(r"\(os error (\d+)\)")
_TEXT_MARKERS = re.compile(
    r"No space left on device|Disk quota exceeded|Permission denied|Operation not permitted"
    r"|java\.nio\.file\.AccessDeniedException|DELTA_CONCURRENT_\w+"
    r"|io\.delta\.exceptions\.Concurrent\w+|io\.delta\.exceptions\.\w+ChangedException"
)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def first_line(exc: BaseException) -> str:
    """``Type: message`` without stack traces, backtraces or colour codes.

    delta-rs appends a Rust backtrace when ``RUST_BACKTRACE`` is set and Spark a JVM stack
    trace; both follow the first line. delta-rs's object-store errors put the cause on
    indented ``↳`` lines (``Generic LocalFileSystem error`` / ``↳ Unable to open file ...``
    / ``↳ Operation not permitted (os error 1)``), which are kept, joined with ``: ``.
    """
    text = str(exc)
    java = getattr(exc, "java_exception", None)
    if java is not None:
        # A py4j error's own text is "An error occurred while calling o254.execute."; the
        # Java exception's says what happened (e.g. io.delta.exceptions.Concurrent...).
        with contextlib.suppress(Exception):  # the JVM may be gone: keep py4j's text
            text = str(java.toString())
    lines = [line.strip() for line in _ANSI.sub("", text).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    kept = [lines[0]] + [line.lstrip("↳ ").strip() for line in lines[1:] if line.startswith("↳")]
    return f"{type(exc).__name__}: {': '.join(kept)}"


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 20:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it was raised from) is a transient Delta-side failure."""
    for item in _chain(exc):
        if any(cls.__name__ in _CONFLICT_TYPES for cls in type(item).__mro__):
            return True
        if isinstance(item, OSError) and item.errno in TRANSIENT_ERRNOS:
            return True
        text = str(item)
        if any(int(code) in TRANSIENT_ERRNOS for code in _OS_ERROR.findall(text)):
            return True
        if _TEXT_MARKERS.search(text):
            return True
    return False


def destination_error(prefix: str, exc: BaseException, advice: str) -> DestinationError:
    """The error for a failed Delta operation: transient or not, per :func:`is_transient`.

    Args:
        prefix: what failed, naming the table (``table x.y: delta-rs failed to write``).
        exc: the engine library's exception.
        advice: what to do when the failure is not transient.
    """
    if is_transient(exc):
        return DestinationTransientError(
            f"{prefix}: {first_line(exc)}. This is a transient failure (disk full, permission "
            "denied, or a concurrent writer committed first): the table is unchanged, and "
            "retrying the step (same version) can succeed once space is freed, the "
            "permission is fixed, or the other writer is done."
        )
    return DestinationError(f"{prefix}: {first_line(exc)}. {advice}")


@contextmanager
def failures_as_destination_errors(prefix: str, advice: str) -> Iterator[None]:
    """Turns an engine library's exception in the block into :func:`destination_error`'s
    error (``prefix``: what failed, naming the table); the SDK's own errors pass through."""
    try:
        yield
    except DataLoaderError:
        raise
    except Exception as exc:
        raise destination_error(prefix, exc, advice) from exc


def reading_history(target: object) -> AbstractContextManager[None]:
    """Turns a failure to read a table's Delta history into a :class:`DestinationError`."""
    return failures_as_destination_errors(
        f"table {target}: cannot read the Delta history",
        "Check that the table's _delta_log is readable.",
    )


def counting_rows(target: object) -> AbstractContextManager[None]:
    """Turns a failure to count a table's rows into a :class:`DestinationError`."""
    return failures_as_destination_errors(
        f"table {target}: cannot count rows",
        "Check that the predicate's columns exist in the table.",
    )

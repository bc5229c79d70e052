"""The dataloader-sdk exception tree.

Every error the SDK raises on purpose derives from :class:`DataLoaderError`, and each
message says what is wrong, where (which table, source or field), and what to do::

    DataLoaderError
     ├── ConfigError                 bad input; nothing was changed
     │    ├── ValidationError        one or more fields are invalid (all reported at once)
     │    ├── UnknownNameError       unknown table, source, db_type, strategy or engine
     │    ├── PluginLoadError        a plugin's entry point failed to import
     │    └── SecretError            a secret reference cannot be resolved
     ├── SourceError                 reading the source failed
     │    ├── SourceTransientError   worth retrying (network, timeout, server restarting)
     │    │    ├── EmptyReadRefusedError  an empty read would have emptied a target window
     │    │    └── WindowMismatchError    the read missed rows the probe saw (nothing committed)
     │    └── SourcePermanentError   retrying will not help (auth, missing table, bad SQL)
     ├── DestinationError            writing the Delta target failed
     │    └── DestinationTransientError  worth retrying (disk full, permission, commit conflict)
     └── StateError                  the control state forbids the operation
          ├── StaleVersionError      optimistic locking: someone else changed the row
          │    └── ChangeConflictError    a multi-table change met concurrent edits (names them)
          ├── LeaseError             the table is claimed by another worker
          ├── ControlStoreUnavailableError  the control DB failed or is locked (retryable)
          ├── ControlStoreError      the control store failed unexpectedly (not retried)
          ├── ForeignCommitError     the target was last written by another control DB
          ├── StaleQueueTokenError   a launch's queue token is no longer the table's
          └── InvalidTransitionError the status state machine forbids the change

``retryable`` tells an orchestrator whether retrying can help.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "ChangeConflictError",
    "ConfigError",
    "ControlStoreError",
    "ControlStoreUnavailableError",
    "DataLoaderError",
    "DestinationError",
    "DestinationTransientError",
    "EmptyReadRefusedError",
    "FieldProblem",
    "ForeignCommitError",
    "InvalidTransitionError",
    "LeaseError",
    "PluginLoadError",
    "SecretError",
    "SourceError",
    "SourcePermanentError",
    "SourceTransientError",
    "StaleQueueTokenError",
    "StaleVersionError",
    "StateError",
    "UnknownNameError",
    "ValidationError",
    "WindowMismatchError",
]


class DataLoaderError(Exception):
    """Root of every error raised on purpose by dataloader-sdk."""

    #: Whether running the same thing again may succeed without a config change.
    retryable: bool = False


class ConfigError(DataLoaderError):
    """Bad input: a config value, a name or a reference is wrong. Nothing was changed."""


@dataclass(frozen=True)
class FieldProblem:
    """One invalid field: where it is, and what is wrong with it."""

    field: str
    problem: str

    def __str__(self) -> str:
        return f"{self.field}: {self.problem}"


class ValidationError(ConfigError):
    """One or more fields are invalid; every problem is reported at once."""

    def __init__(self, subject: str, problems: Sequence[FieldProblem]) -> None:
        self.subject = subject
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid {subject}:\n{lines}")


class UnknownNameError(ConfigError):
    """An unknown table, source, db_type, strategy or engine was named."""

    def __init__(self, kind: str, name: str, known: Sequence[str], hint: str = "") -> None:
        self.kind = kind
        self.name = name
        self.known = tuple(sorted(known))
        listed = ", ".join(self.known) if self.known else "(none)"
        message = f"unknown {kind} {name!r}; registered: {listed}"
        if hint:
            message += f". {hint}"
        super().__init__(message)


class PluginLoadError(ConfigError):
    """A plugin entry point could not be imported or registered."""

    def __init__(self, entry_point: str, cause: BaseException) -> None:
        self.entry_point = entry_point
        super().__init__(
            f"plugin {entry_point!r} failed to load: {type(cause).__name__}: {cause}. "
            "Fix or uninstall the package that provides it."
        )


class SecretError(ConfigError):
    """A secret reference cannot be resolved. The message never contains the secret."""


class SourceError(DataLoaderError):
    """Reading from the source database failed."""


class SourceTransientError(SourceError):
    """A source failure that may go away on retry (network, timeout, restart)."""

    retryable = True


class EmptyReadRefusedError(SourceTransientError):
    """A read came back empty where the target holds data; nothing was deleted.

    Transient: a source being reloaded is usually full again on the next run.
    """


class SourcePermanentError(SourceError):
    """A source failure that retrying will not fix (auth, missing object, bad SQL)."""


class DestinationError(DataLoaderError):
    """Writing the Delta target failed, or the target is not in the expected shape."""


class DestinationTransientError(DestinationError):
    """A Delta-side failure that may go away on retry: disk full, permission denied, or a
    concurrent writer's commit conflicting with this one. The table is unchanged."""

    retryable = True


class StateError(DataLoaderError):
    """The control state forbids the requested operation."""


class StaleVersionError(StateError):
    """An update carried a version that is no longer current (optimistic locking)."""


class ChangeConflictError(StaleVersionError):
    """A multi-table change (bulk edit, promotion, apply) met concurrent edits.

    Nothing of the change was written. ``tables`` names every table whose version
    moved (or that appeared or vanished) since the change was planned.
    """

    def __init__(self, message: str, tables: Sequence[str]) -> None:
        self.tables = tuple(tables)
        super().__init__(message)


class LeaseError(StateError):
    """The table is leased by another worker."""

    retryable = True


class StaleQueueTokenError(StateError):
    """A run was launched with a queue token the table no longer holds.

    The table was already run for that token, or was enqueued again since (a newer
    launch owns it). Nothing was run or changed; a scheduler treats it as a skip.
    """


class InvalidTransitionError(StateError):
    """The status state machine does not allow this change."""


class ControlStoreUnavailableError(StateError):
    """The control database failed (down, unreachable, dropped connection, locked) after
    bounded retries. Nothing the failed call would have written was written."""

    retryable = True


class ControlStoreError(StateError):
    """The control store raised an exception it did not classify (a bug, or a driver error
    it does not know). Not retryable: it is unknown whether a retry helps. The message
    names the call and the original exception's type."""


class ForeignCommitError(StateError):
    """The Delta target holds a dataloader commit of another environment or control DB.

    Two control databases must never share a Delta table: each would roll its state
    forward from the other's commits. The message names both.
    """


class WindowMismatchError(SourceTransientError):
    """The probe saw rows in the read window but the read returned fewer; nothing was
    committed and the watermark did not move. A changing source makes this transient; if
    it persists the cursor column's stored values do not compare as the probe's do."""

"""Driver exceptions as the project's SourceErrors: transient or permanent, redacted.

:func:`classify_message` guesses the kind from a driver message when the driver gives no
SQLSTATE; :class:`ErrorReporter` builds the messages every SQL connector raises: they
name the source and object, say what to do and never contain the secret.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from dataloader_sdk.connectors.base import SourceColumn
from dataloader_sdk.errors import SourceError, SourcePermanentError, SourceTransientError
from dataloader_sdk.model import SourceConfig, SourceObject
from dataloader_sdk.secrets import Secret, cap_quoted_values, redact

__all__ = ["ErrorKind", "ErrorReporter", "classify_message"]

ErrorKind = Literal["transient", "permanent"]

# Substrings of driver messages, lower-cased. Used when the driver gives no SQLSTATE
# (connection-time failures in libpq, SQLite, pymysql ...). Permanent wins on a tie:
# retrying a wrong password only locks the account.
_PERMANENT_HINTS = (
    "password authentication failed", "authentication failed", "access denied",
    "no password supplied", "does not exist", "no such table", "no such column",
    "unknown database", "unknown column", "permission denied", "not authorized",
    "syntax error", "unable to open database", "doesn't exist", "invalid input syntax",
    "no pg_hba.conf entry", "ssl is not enabled",
)
_TRANSIENT_HINTS = (
    "connection refused", "could not connect", "timeout", "timed out",
    "server closed the connection", "terminating connection", "shutting down",
    "the database system is starting up", "the database system is in recovery",
    "serialization", "deadlock", "too many connections", "lost connection",
    "has gone away", "connection reset", "broken pipe", "no route to host",
    "could not translate host name", "temporary failure", "database is locked",
    "network is unreachable", "canceling statement",
)


def classify_message(message: str) -> ErrorKind:
    """Guess transient/permanent from a driver message (used only without a SQLSTATE)."""
    text = message.lower()
    if any(h in text for h in _PERMANENT_HINTS):
        return "permanent"
    if any(h in text for h in _TRANSIENT_HINTS):
        return "transient"
    # Unknown failures are permanent: retrying the unknown wastes the retry budget and
    # hides the problem; a human looks at needs_attention tables.
    return "permanent"


_WS = re.compile(r"\s+")
#: Actions whose errors cannot quote source data (see ``classify_error``).
_NO_ROW_VALUES = frozenset({"connecting", "creating the engine", "running SELECT 1",
                            "running SELECT 1 FROM DUAL"})


class ErrorReporter:
    """Error messages of a connector; needs :attr:`config` and :attr:`secret`."""

    #: The source (its ``name`` appears in every error message).
    config: SourceConfig
    #: The resolved secret; only ever passed to :func:`~dataloader_sdk.secrets.redact`.
    secret: Secret | None

    # -- errors ----------------------------------------------------------------------

    def error_kind(self, exc: BaseException) -> ErrorKind:
        """Transient or permanent; override to use the driver's error codes."""
        return classify_message(str(exc))

    def classify_error(
        self, exc: BaseException, *, action: str, obj: SourceObject | None = None, hint: str = ""
    ) -> SourceError:
        """A SourceError for ``exc`` naming the source, the object and what to do.

        The driver message passes through :func:`~dataloader_sdk.secrets.redact`, so
        neither the secret nor a URL password can appear in it.
        """
        kind = self.error_kind(exc)
        detail = redact(str(exc), self.secret)
        if action not in _NO_ROW_VALUES:
            # Only a query can echo a source row's value; a connection error's quoted
            # text is the driver's own reason, which the user needs whole.
            detail = cap_quoted_values(detail)
        detail = _WS.sub(" ", detail).strip()
        where = f" {obj}" if obj is not None and obj.query is None else (
            " (source_query)" if obj is not None else "")
        if not hint:
            hint = (
                "this looks temporary; the load will be retried" if kind == "transient"
                else "fix the source config or the table config, then rerun"
            )
        message = (
            f"source {self.config.name!r}: {action}{where} failed: "
            f"{type(exc).__name__}: {detail}; {hint}"
        )
        cls = SourceTransientError if kind == "transient" else SourcePermanentError
        return cls(message)

    def missing_table_error(self, obj: SourceObject, known: Sequence[str]) -> SourcePermanentError:
        """The error for a source table that does not exist, listing what does."""
        listed = ", ".join(known[:50]) if known else "(none)"
        more = f" and {len(known) - 50} more" if len(known) > 50 else ""
        return SourcePermanentError(
            f"source table {str(obj)!r} does not exist in source {self.config.name!r}; "
            f"check source_schema/source_table (tables in that schema: {listed}{more})"
        )

    def missing_columns_error(
        self, obj: SourceObject, missing: Sequence[str], known: Sequence[str]
    ) -> SourcePermanentError:
        """The error for selected columns the source object does not have."""
        return SourcePermanentError(
            f"source {self.config.name!r}: {obj} has no column(s) {', '.join(missing)}; "
            f"its columns are: {', '.join(known) or '(none)'}. Fix the column names in "
            "the table config (watermark, keys, columns)"
        )

    def restrict(
        self, obj: SourceObject, columns: Sequence[SourceColumn], wanted: Sequence[str] | None
    ) -> tuple[SourceColumn, ...]:
        """``columns`` restricted to ``wanted`` (in that order); all when ``None``."""
        if wanted is None:
            return tuple(columns)
        by_name = {c.name: c for c in columns}
        missing = [n for n in wanted if n not in by_name]
        if missing:
            raise self.missing_columns_error(obj, missing, list(by_name))
        return tuple(by_name[n] for n in wanted)

"""Shared vocabulary of the model: JSON and scalar types, statuses, name checks, the clock."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Literal, TypeAlias, get_args

JSONValue: TypeAlias = "str | int | float | bool | list[JSONValue] | dict[str, JSONValue] | None"
ScalarValue: TypeAlias = "int | Decimal | float | str | bool | datetime | date"

TableStatus = Literal[
    "idle", "queued", "running", "succeeded", "failed", "skipped", "needs_attention",
    "cancelled",
]
TABLE_STATUSES: tuple[TableStatus, ...] = get_args(TableStatus)
#: ``cancelled``: stopped by the user (Ctrl-C, SIGTERM, ``tables unlock``) before its
#: commit; nothing of it was committed.
RunStatus = Literal["running", "succeeded", "failed", "skipped", "cancelled"]
RUN_STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LOGICAL_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_MAX_IDENTIFIER = 255


def identifier_problem(value: object, *, simple: bool = False) -> str | None:
    """Why ``value`` is not an acceptable identifier, or ``None`` when it is.

    Source identifiers are quoted by the dialect, so most characters are allowed; a
    ``simple`` identifier (Delta target parts) must be ``[A-Za-z_][A-Za-z0-9_]*``.
    """
    if not isinstance(value, str) or not value:
        return "must be a non-empty string"
    if len(value) > _MAX_IDENTIFIER:
        return f"is longer than {_MAX_IDENTIFIER} characters"
    if simple and not _NAME_RE.match(value):
        return f"{value!r} must match [A-Za-z_][A-Za-z0-9_]* (letters, digits, underscore)"
    if any(ord(ch) < 32 for ch in value):
        return f"{value!r} contains control characters"
    return None


def logical_name_problem(value: object) -> str | None:
    """Why ``value`` is not an acceptable table/source name, or ``None``."""
    if not isinstance(value, str) or not value:
        return "must be a non-empty string"
    if len(value) > 200 or not _LOGICAL_NAME_RE.match(value):
        return (
            f"{value!r} may contain only letters, digits, '_', '.', '-' "
            "and must not start with '.' or '-'"
        )
    return None


def utcnow() -> datetime:
    """The current time, timezone-aware UTC, microsecond precision."""
    return datetime.now(timezone.utc)

"""The strategy contract and the option-parsing helpers strategies share.

A strategy is a pure planner. Given the table, its parsed options, the control state,
probe answers from the source and the run's clock, it returns a :class:`LoadPlan`: which
structured selects to read, how to write each, and what the state becomes after each
step commits. It touches no database, so it can be tested exhaustively.

Planning is two-phase so that strategies stay pure: the runner first asks
:meth:`Strategy.probes` which probes to run (e.g. ``MaxOf(cursor)`` to freeze the upper
bound), runs them on the connector, then calls :meth:`Strategy.plan` with the answers.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypeVar, runtime_checkable

from dataloader_sdk.errors import FieldProblem, ValidationError
from dataloader_sdk.model import (
    Coalesce,
    Column,
    CursorExpr,
    JSONValue,
    LoadPlan,
    ProbeAnswer,
    ProbeFailed,
    ProbeRequest,
    ScalarValue,
    TableRecord,
    TableState,
)

__all__ = ["OptionReader", "PlanContext", "Strategy", "describe_state", "parse_duration",
           "schema_fingerprint"]

OptionsT = TypeVar("OptionsT")


@dataclass(frozen=True)
class PlanContext(Generic[OptionsT]):
    """Everything a strategy may look at when planning one run."""

    table: TableRecord
    options: OptionsT
    state: TableState
    probes: Mapping[ProbeRequest, ProbeAnswer]
    now: datetime
    run_id: str
    #: A hash of the source columns' names and types (see ``schema_fingerprint``).
    schema_fingerprint: str = ""

    def answer(self, request: ProbeRequest) -> ScalarValue | None:
        """The probe's answer; re-raises the probe's error if it failed."""
        value = self.probes.get(request)
        if isinstance(value, ProbeFailed):
            raise value.error
        return value


@runtime_checkable
class Strategy(Protocol[OptionsT]):
    """A load strategy. Implementations are stateless and thread-safe.

    Optional hook: ``describe_state(self, state: TableState) -> str | None``, one line on
    the strategy's own part of a table's state for ``dataloader status`` (the backfill's
    progress, say). Optional, so a strategy written before it still conforms; callers go
    through :func:`describe_state`.
    """

    #: One line for ``dataloader strategies`` and the docs.
    summary: str

    def parse_options(self, raw: Mapping[str, JSONValue], *, table: str) -> OptionsT:
        """Validate ``table_control.strategy_options``; report every bad field at once.

        Raises:
            ValidationError: naming the table and each bad field.
        """
        ...

    def required_columns(self, options: OptionsT) -> tuple[str, ...]:
        """Source columns that must exist (watermark, keys); the runner checks them."""
        ...

    def probes(self, options: OptionsT, state: TableState) -> tuple[ProbeRequest, ...]:
        """Probes to run on the source before planning."""
        ...

    def plan(self, ctx: PlanContext[OptionsT]) -> LoadPlan:
        """Decide this run's steps. Pure: no I/O, no clock other than ``ctx.now``."""
        ...


def describe_state(strategy: object, state: TableState) -> str | None:
    """What ``strategy`` says of ``state`` for status displays, through its optional
    ``describe_state`` hook; ``None`` when it has nothing to say (or no hook)."""
    hook = getattr(strategy, "describe_state", None)
    if hook is None:
        return None
    text = hook(state)
    return None if text is None else str(text)


def schema_fingerprint(columns: Iterable[tuple[str, str, str]]) -> str:
    """A stable hash of ``(name, source type, arrow type)`` triples, in column order."""
    digest = hashlib.sha256()
    for name, source_type, arrow_type in columns:
        digest.update(f"{name}\x1f{source_type}\x1f{arrow_type}\x1e".encode())
    return digest.hexdigest()[:32]


_DURATION = re.compile(r"^\s*(\d+)\s*(s|sec|secs|m|min|mins|h|hr|hrs|hours?|d|days?|w|weeks?)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta | None:
    """``'90s'``, ``'15m'``, ``'2h'``, ``'1d'``, ``'2 weeks'`` → timedelta; ``None`` if invalid."""
    match = _DURATION.match(text)
    if match is None:
        return None
    unit = match.group(2)
    key = "m" if unit.startswith("mi") or unit == "m" else unit[0]
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[key])


class OptionReader:
    """Reads strategy options field by field, collecting every problem.

    Unknown option names are problems too (a typo must not be silently ignored).
    """

    def __init__(self, raw: Mapping[str, JSONValue], *, table: str, strategy: str) -> None:
        self._raw = raw if isinstance(raw, Mapping) else {}
        self._table = table
        self._strategy = strategy
        self._seen: set[str] = set()
        self.problems: list[FieldProblem] = []
        if not isinstance(raw, Mapping):
            self.problem("strategy_options", "must be a JSON object")

    def problem(self, field: str, text: str) -> None:
        """Record a problem with ``field``."""
        self.problems.append(FieldProblem(field, text))

    def has(self, name: str) -> bool:
        """Whether ``name`` was given (and not null)."""
        return self._raw.get(name) is not None

    def _get(self, name: str) -> JSONValue:
        self._seen.add(name)
        return self._raw.get(name)

    def text(self, name: str, *, required: bool = False, hint: str = "") -> str | None:
        """A non-empty string option."""
        value = self._get(name)
        if value is None:
            if required:
                self.problem(name, f"is required for strategy {self._strategy!r}{hint}")
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem(name, f"must be a non-empty string, got {value!r}")
            return None
        return value

    def names(self, name: str, *, required: bool = False, hint: str = "") -> tuple[str, ...]:
        """A list of column names (a single string is accepted as a one-item list)."""
        value = self._get(name)
        if value is None or value == []:
            if required:
                self.problem(name, f"is required for strategy {self._strategy!r}{hint}")
            return ()
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) and v.strip() for v in items):
            self.problem(name, f"must be a list of column names, got {value!r}")
            return ()
        if len(set(items)) != len(items):
            self.problem(name, f"lists a column twice: {items!r}")
        return tuple(str(v) for v in items)

    def cursor(self, name: str, *, required: bool = False, hint: str = "") -> CursorExpr | None:
        """A cursor: a column name, or a list of names meaning ``COALESCE(a, b, ...)``."""
        value = self._raw.get(name)
        if isinstance(value, list):
            cols = self.names(name, required=required, hint=hint)
            if len(cols) == 1:
                return Column(cols[0])
            return Coalesce(cols) if cols else None
        col = self.text(name, required=required, hint=hint)
        return Column(col) if col else None

    def integer(self, name: str, *, default: int, minimum: int | None = None) -> int:
        """An integer option."""
        value = self._get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(name, f"must be an integer, got {value!r}")
            return default
        if minimum is not None and value < minimum:
            self.problem(name, f"must be >= {minimum}, got {value}")
            return default
        return value

    def choice(self, name: str, choices: tuple[str, ...], *, default: str) -> str:
        """One of ``choices``."""
        value = self._get(name)
        if value is None:
            return default
        if value not in choices:
            self.problem(name, f"must be one of {', '.join(choices)}; got {value!r}")
            return default
        return str(value)

    def lookback(self, name: str = "lookback") -> int | timedelta | None:
        """A lookback: an integer (numeric cursors) or a duration such as ``'2h'``."""
        value = self._get(name)
        if value is None or value == 0:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 0:
                self.problem(name, f"must not be negative, got {value}")
                return None
            return value
        if isinstance(value, str):
            duration = parse_duration(value)
            if duration is not None:
                return duration if duration else None
        self.problem(
            name, f"must be a non-negative integer or a duration like '2h', '30m', '1d'; got {value!r}"
        )
        return None

    def finish(self) -> None:
        """Raise ValidationError if any problem (or an unknown option) was found."""
        for unknown in sorted(set(self._raw) - self._seen):
            known = ", ".join(sorted(self._seen)) or "(none)"
            self.problem(unknown, f"is not an option of strategy {self._strategy!r}; known: {known}")
        if self.problems:
            raise ValidationError(
                f"strategy_options of table {self._table!r} (strategy {self._strategy!r})",
                self.problems,
            )

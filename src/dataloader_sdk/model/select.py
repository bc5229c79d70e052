"""Structured selects and probes: what a strategy asks a connector to read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

from dataloader_sdk.model._base import ScalarValue
from dataloader_sdk.model.config import SourceObject


@dataclass(frozen=True)
class Column:
    """A plain source column."""

    name: str

    @property
    def columns(self) -> tuple[str, ...]:
        """Source columns the expression reads."""
        return (self.name,)


@dataclass(frozen=True)
class Coalesce:
    """``COALESCE(a, b, ...)`` over source columns, e.g. ``updated_at, created_at``."""

    names: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        """Source columns the expression reads."""
        return self.names


CursorExpr: TypeAlias = Column | Coalesce
ComparisonOp = Literal[">=", ">", "<=", "<", "="]


@dataclass(frozen=True)
class Compare:
    """``expr OP value``; the value is always bound as a typed parameter."""

    expr: CursorExpr
    op: ComparisonOp
    value: ScalarValue


@dataclass(frozen=True)
class IsNull:
    """``expr IS NULL`` (or ``IS NOT NULL`` with ``negate``)."""

    expr: CursorExpr
    negate: bool = False


@dataclass(frozen=True)
class AnyOf:
    """``(p1 OR p2 OR ...)`` of simple predicates, e.g. ``cursor <= H OR cursor IS NULL``."""

    predicates: tuple[Compare | IsNull, ...]


Predicate: TypeAlias = Compare | IsNull | AnyOf


@dataclass(frozen=True)
class Select:
    """A structured read: never a SQL string with values pasted in.

    ``where`` predicates are ANDed. ``columns=None`` reads every column.
    """

    source: SourceObject
    columns: tuple[str, ...] | None = None
    where: tuple[Predicate, ...] = ()


@dataclass(frozen=True)
class MaxOf:
    """Probe: the maximum of an expression (optionally under predicates)."""

    expr: CursorExpr
    where: tuple[Predicate, ...] = ()


@dataclass(frozen=True)
class RowCount:
    """Probe: the number of rows (optionally under predicates)."""

    where: tuple[Predicate, ...] = ()


@dataclass(frozen=True)
class MinOf:
    """Probe: the minimum of an expression (optionally under predicates)."""

    expr: CursorExpr
    where: tuple[Predicate, ...] = ()


@dataclass(frozen=True)
class ChangeSignature:
    """Probe: a cheap, connector-specific signature that changes when the table changes
    (PostgreSQL: ``pg_stat_user_tables`` counters and the relfilenode). ``None`` when the
    connector has none; then strategies fall back to row count and max(cursor)."""


ProbeRequest: TypeAlias = MaxOf | MinOf | RowCount | ChangeSignature


@dataclass(frozen=True)
class ProbeFailed:
    """The answer to a probe that raised. Strategies that need the answer re-raise
    ``error`` (see ``strategies.base.required``); fail-safe ones treat it as "changed"."""

    error: Exception


ProbeAnswer: TypeAlias = "ScalarValue | ProbeFailed | None"

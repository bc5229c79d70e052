"""Shared base for SQL connectors: structured selects compiled by SQLAlchemy Core.

A connector for a new SQL database subclasses :class:`SqlConnector` and overrides only
what differs (Singer-SDK style template steps):

``from_clause`` → ``project`` → ``build_select`` → ``apply_filters`` → ``compile``

* identifiers come from :func:`sqlalchemy.table` / :func:`sqlalchemy.column`, so the
  dialect quotes them (a hostile name stays one quoted identifier);
* every value in a predicate is a :func:`sqlalchemy.bindparam` with an explicit type, so
  the compiled SQL holds placeholders only and the values travel as typed parameters;
* a ``source_query`` is wrapped as a subquery (``SELECT ... FROM (<query>) AS q``) and is
  emitted verbatim: it is the user's SQL, so it is never parsed for ``:name`` binds;
* probes (:class:`~dataloader_sdk.model.MaxOf`, :class:`~dataloader_sdk.model.RowCount`)
  are compiled through the same steps;
* :meth:`SqlConnector.classify_error` turns a driver exception into a
  :class:`~dataloader_sdk.errors.SourceTransientError` or
  :class:`~dataloader_sdk.errors.SourcePermanentError` whose message names the source and
  object, says what to do and never contains the secret.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement, TextClause

from dataloader_sdk.connectors._sa_types import looks_ordered_as_text
from dataloader_sdk.connectors.base import DEFAULT_BATCH_ROWS, SourceColumn
from dataloader_sdk.errors import (
    ConfigError,
    FieldProblem,
    SourceError,
    SourcePermanentError,
    SourceTransientError,
    ValidationError,
)
from dataloader_sdk.model import (
    AnyOf,
    Coalesce,
    Column,
    Compare,
    CursorExpr,
    IsNull,
    MaxOf,
    MinOf,
    Predicate,
    RowCount,
    ScalarValue,
    Select,
    SourceConfig,
    SourceObject,
)
from dataloader_sdk.secrets import Secret, cap_quoted_values, redact

__all__ = [
    "QUERY_ALIAS",
    "CompiledQuery",
    "ErrorKind",
    "SqlConnector",
    "batch_rows_option",
    "bind_type",
    "classify_message",
    "referenced_columns",
    "typed_cursor_value",
]

#: Alias of a wrapped ``source_query`` subquery.
QUERY_ALIAS = "q"

ErrorKind = Literal["transient", "permanent"]


class _VerbatimQuery(TextClause):
    """A user ``source_query``, emitted exactly as written.

    ``sqlalchemy.text()`` would treat ``:word`` inside string literals or casts as a bind
    parameter; a source query is the user's SQL and must reach the server unchanged.
    """

    inherit_cache = False

    def __init__(self, query: str) -> None:
        super().__init__("")
        self.text = query


@compiles(_VerbatimQuery)
def _compile_verbatim(element: _VerbatimQuery, compiler: SQLCompiler, **kw: Any) -> str:
    # escape_literal_column doubles '%' for pyformat/format paramstyles, so a '%' in the
    # user's query survives the driver's placeholder substitution.
    escaped: str = compiler.escape_literal_column(element.text)  # type: ignore[no-untyped-call]
    return escaped


@dataclass(frozen=True)
class CompiledQuery:
    """SQL text for one dialect plus its typed parameters.

    ``params`` maps bind names to the typed Python values; ``positional`` holds them in
    placeholder order for positional paramstyles (``qmark``, ``format``, ``numeric``).
    """

    sql: str
    params: Mapping[str, Any] = field(default_factory=dict)
    positional: tuple[Any, ...] = ()


def bind_type(value: ScalarValue) -> sa.types.TypeEngine[Any]:
    """The SQLAlchemy type a bound value travels as (explicit, never guessed by the driver).

    ``bool`` is tested before ``int`` because it is a subclass of it; aware datetimes bind
    as ``TIMESTAMP WITH TIME ZONE`` so the server compares instants, not wall clocks.
    """
    if isinstance(value, bool):
        return sa.Boolean()
    if isinstance(value, int):
        return sa.BigInteger()
    if isinstance(value, Decimal):
        return sa.Numeric(asdecimal=True)
    if isinstance(value, float):
        return sa.Float()
    if isinstance(value, datetime):
        return sa.DateTime(timezone=value.tzinfo is not None)
    if isinstance(value, date):
        return sa.Date()
    if isinstance(value, str):
        return sa.String()
    raise TypeError(f"cannot bind a {type(value).__name__} value in a predicate")


def referenced_columns(
    columns: Iterable[str] = (),
    where: Iterable[Predicate] = (),
    extra: Iterable[CursorExpr] = (),
) -> tuple[str, ...]:
    """Every source column a select or probe mentions, in first-seen order."""
    names: list[str] = list(columns)
    for pred in where:
        for simple in pred.predicates if isinstance(pred, AnyOf) else (pred,):
            names.extend(simple.expr.columns)
    for expr in extra:
        names.extend(expr.columns)
    return tuple(dict.fromkeys(names))


def batch_rows_option(config: SourceConfig) -> int:
    """``options.batch_rows`` of a source, or :data:`DEFAULT_BATCH_ROWS`."""
    value = config.options.get("batch_rows")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return DEFAULT_BATCH_ROWS


def _cursor_error(source: str, obj: SourceObject, column: str, text: str) -> ValidationError:
    where = "the source_query" if obj.query is not None else f"table {str(obj)!r}"
    return ValidationError(f"cursor column {column!r} of {where} in source {source!r}",
                           [FieldProblem("watermark_column", text)])


def typed_cursor_value(
    source: str, obj: SourceObject, column: str, raw: Any, arrow_type: pa.DataType,
    convert: Callable[[Any, pa.DataType], Any],
) -> ScalarValue:
    """A ``MAX``/``MIN`` probe answer as the watermark value, refusing unsafe cursors.

    A text cursor compares as text, so the upper bound and the read agree, but numbers or
    timestamps kept as text are ordered by spelling: ``'10'`` before ``'9'``,
    ``'2024-01-01T10:00'`` after ``'2024-01-01 23:00'``, offsets and fraction digits out
    of time order. New rows then sort below the watermark and are skipped for good, so
    such a cursor is refused with a ValidationError. A value the driver hands over typed
    (a ``source_query`` column, which has no declared type) keeps its type and compares
    as that type. A value that does not fit an integer, date or timestamp column is
    refused too: SQLite sorts text above every number, so the range would miss rows.

    Raises:
        ValidationError: naming the source, the table and the column, and what to do.
    """
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        if isinstance(raw, str):
            kind = looks_ordered_as_text(raw)
            if kind is not None:
                raise _cursor_error(source, obj, column, (
                    f"is a text column holding {kind} (e.g. {raw[:40]!r}); compared as text "
                    "they are ordered by spelling, not value ('10' before '9'; "
                    "'2024-01-01T10:00' after '2024-01-01 23:00'; offsets), so rows would "
                    "be skipped silently. Declare the column with the type its values have "
                    "(INTEGER, DATETIME/TIMESTAMP or DATE), or choose another cursor column"))
            return raw
        if isinstance(raw, int | float | Decimal | date) and not isinstance(raw, bool):
            return raw
        converted: ScalarValue = convert(raw, arrow_type)
        return converted
    try:
        value: ScalarValue = convert(raw, arrow_type)
    except (TypeError, ValueError, ArithmeticError):
        raise _cursor_error(source, obj, column, (
            f"holds {str(raw)[:40]!r} ({type(raw).__name__}), which is not a value of the "
            f"column's type ({arrow_type}); the source orders it apart from the other values, "
            "so rows would be skipped. Fix the row, or choose another cursor column")) from None
    return value


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


class SqlConnector:
    """Template steps shared by SQL connectors; subclasses set :attr:`dialect`.

    Args:
        config: the source connection (``name`` appears in every error message).
        secret: the resolved password; only passed to the driver and to
            :func:`~dataloader_sdk.secrets.redact`.
    """

    #: The SQLAlchemy dialect selects and probes compile for.
    dialect: Dialect

    def __init__(self, config: SourceConfig, secret: Secret | None) -> None:
        self.config = config
        self.secret = secret

    # -- reuse within a batch -------------------------------------------------------

    def reset(self) -> bool:
        """Opt in to reuse within a batch (see :class:`~dataloader_sdk.connectors.pool
        .SourcePool`): forget per-table state and return ``True`` when the connection may
        serve another table of the batch. The default declines, so the connector is
        closed after its table, as without a pool.
        """
        return False

    # -- template steps --------------------------------------------------------------

    def from_clause(self, obj: SourceObject, names: Sequence[str]) -> sa.FromClause:
        """The FROM of a read: the quoted table, or the source query as subquery ``q``."""
        cols: list[sa.ColumnClause[Any]] = [sa.column(n) for n in names]
        if obj.query is not None:
            return _VerbatimQuery(obj.query).columns(*cols).subquery(QUERY_ALIAS)
        if obj.table is None:
            raise ConfigError(
                f"source {self.config.name!r}: a read needs source_table or source_query"
            )
        return sa.table(obj.table, *cols, schema=obj.schema)

    def cursor_expr(self, src: sa.FromClause, expr: CursorExpr) -> ColumnElement[Any]:
        """A cursor expression: a column, or ``COALESCE(a, b, ...)``."""
        if isinstance(expr, Column):
            return src.c[expr.name]
        if isinstance(expr, Coalesce):
            return sa.func.coalesce(*(src.c[n] for n in expr.names))
        raise TypeError(f"unsupported cursor expression {expr!r}")

    def bind_type(self, value: ScalarValue) -> sa.types.TypeEngine[Any]:
        """The type a predicate value is bound as (see :func:`bind_type`)."""
        return bind_type(value)

    def predicate(
        self, src: sa.FromClause, pred: Predicate, names: Iterator[str]
    ) -> ColumnElement[bool]:
        """One predicate; each compared value becomes a typed bind parameter named from
        ``names`` (``p0``, ``p1``, ... in the order they appear)."""
        if isinstance(pred, AnyOf):
            return sa.or_(*(self.predicate(src, p, names) for p in pred.predicates))
        expr = self.cursor_expr(src, pred.expr)
        if isinstance(pred, IsNull):
            return expr.is_not(None) if pred.negate else expr.is_(None)
        if isinstance(pred, Compare):
            value = sa.bindparam(next(names), pred.value, type_=self.bind_type(pred.value))
            ops = {
                ">=": expr >= value, ">": expr > value, "<=": expr <= value,
                "<": expr < value, "=": expr == value,
            }
            return ops[pred.op]
        raise TypeError(f"unsupported predicate {pred!r}")

    def apply_filters(
        self, stmt: sa.Select[Any], src: sa.FromClause, where: Sequence[Predicate]
    ) -> sa.Select[Any]:
        """AND every predicate onto ``stmt``."""
        names = (f"p{i}" for i in itertools.count())
        for pred in where:
            stmt = stmt.where(self.predicate(src, pred, names))
        return stmt

    def project(self, src: sa.FromClause, column: SourceColumn) -> ColumnElement[Any]:
        """The select-list expression of one output column.

        The default reads the column as is; a connector overrides it to convert a source
        type its driver cannot hand over exactly (e.g. ``CAST(x AS TEXT)``).
        """
        return src.c[column.name]

    def build_select(self, select: Select, columns: Sequence[SourceColumn]) -> sa.Select[Any]:
        """The SQLAlchemy select of ``select`` producing exactly ``columns``, in order."""
        names = referenced_columns((c.name for c in columns), select.where)
        src = self.from_clause(select.source, names)
        projected = [self.project(src, c).label(c.name) for c in columns]
        return self.apply_filters(sa.select(*projected).select_from(src), src, select.where)

    def build_probe(
        self, obj: SourceObject, request: MaxOf | MinOf | RowCount
    ) -> sa.Select[Any]:
        """``SELECT max(expr)``, ``min(expr)`` or ``count(*)`` under the predicates.

        :class:`~dataloader_sdk.model.ChangeSignature` is connector-specific and has no
        portable SQL; connectors answer it in :meth:`probe` (or return ``None``).
        """
        extra = (request.expr,) if isinstance(request, MaxOf | MinOf) else ()
        src = self.from_clause(obj, referenced_columns((), request.where, extra))
        stmt: sa.Select[Any]
        if isinstance(request, MaxOf):
            stmt = sa.select(sa.func.max(self.cursor_expr(src, request.expr)))
        elif isinstance(request, MinOf):
            stmt = sa.select(sa.func.min(self.cursor_expr(src, request.expr)))
        elif isinstance(request, RowCount):
            stmt = sa.select(sa.func.count())
        else:
            raise TypeError(f"unsupported probe {request!r}")
        return self.apply_filters(stmt.select_from(src), src, request.where)

    def compile(self, stmt: sa.Select[Any]) -> CompiledQuery:
        """Compile for :attr:`dialect`; values stay parameters (never rendered inline)."""
        compiled = stmt.compile(dialect=self.dialect)
        params = dict(compiled.params)
        order = compiled.positiontup or ()
        return CompiledQuery(str(compiled), params, tuple(params[n] for n in order))

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

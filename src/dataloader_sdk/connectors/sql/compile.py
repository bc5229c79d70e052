"""Structured selects and probes compiled by SQLAlchemy Core, for any dialect.

:class:`SelectCompiler` holds the template steps a SQL connector overrides only where its
database differs (Singer-SDK style):

``from_clause`` → ``project`` → ``build_select`` → ``apply_filters`` → ``compile``

* identifiers come from :func:`sqlalchemy.table` / :func:`sqlalchemy.column`, so the
  dialect quotes them (a hostile name stays one quoted identifier);
* every value in a predicate is a :func:`sqlalchemy.bindparam` with an explicit type, so
  the compiled SQL holds placeholders only and the values travel as typed parameters;
* a ``source_query`` is wrapped as a subquery (``SELECT ... FROM (<query>) AS q``) and is
  emitted verbatim: it is the user's SQL, so it is never parsed for ``:name`` binds;
* probes (:class:`~dataloader_sdk.model.MaxOf`, :class:`~dataloader_sdk.model.MinOf`,
  :class:`~dataloader_sdk.model.RowCount`) are compiled through the same steps;
* compiled statements are kept (:data:`COMPILED_CACHE`), keyed the way SQLAlchemy keys
  its own statement cache: the dialect and the statement's structure, not its values.
  An unchanged table's run compiles three statements that differ from the last run's only
  in the watermark; compiling them was ~1 ms each, most of the connector's own time
  (docs/benchmarks.md, the cost model).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement, TextClause

from dataloader_sdk.connectors.base import SourceColumn
from dataloader_sdk.errors import ConfigError
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

if TYPE_CHECKING:
    from dataloader_sdk.statements import SelectStatement

__all__ = ["COMPILED_CACHE", "QUERY_ALIAS", "CompiledQuery", "SelectCompiler", "bind_type",
           "referenced_columns"]

QUERY_ALIAS = "q"

#: Statements compiled by any connector of this process, most recently used kept
#: (SQLAlchemy's thread-safe LRU, as an ``Engine`` keeps its own). The key holds the
#: dialect and the statement's structure (tables, columns, types, operators, bind names);
#: values are not part of it. A statement without a cache key (a user's
#: ``source_query``, a dialect that opts out) is compiled every time.
COMPILED_CACHE: Any = sa.util.LRUCache(2048)


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


class SelectCompiler:
    """The compile steps of a SQL connector; subclasses set :attr:`dialect`.

    A database without a SQLAlchemy dialect borrows the closest one and sets its
    ``paramstyle`` to what the driver takes (e.g. ``PGDialect(paramstyle="qmark")``);
    :attr:`CompiledQuery.positional` then holds the values in placeholder order.
    """

    #: The SQLAlchemy dialect selects and probes compile for.
    dialect: Dialect
    #: The source (its ``name`` appears in every error message).
    config: SourceConfig

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
        self, stmt: SelectStatement, src: sa.FromClause, where: Sequence[Predicate]
    ) -> SelectStatement:
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

    def build_select(self, select: Select, columns: Sequence[SourceColumn]) -> SelectStatement:
        """The SQLAlchemy select of ``select`` producing exactly ``columns``, in order."""
        names = referenced_columns((c.name for c in columns), select.where)
        src = self.from_clause(select.source, names)
        projected = [self.project(src, c).label(c.name) for c in columns]
        return self.apply_filters(sa.select(*projected).select_from(src), src, select.where)

    def build_probe(
        self, obj: SourceObject, request: MaxOf | MinOf | RowCount
    ) -> SelectStatement:
        """``SELECT max(expr)``, ``min(expr)`` or ``count(*)`` under the predicates.

        :class:`~dataloader_sdk.model.ChangeSignature` is connector-specific and has no
        portable SQL; connectors answer it in :meth:`probe` (or return ``None``).
        """
        extra = (request.expr,) if isinstance(request, MaxOf | MinOf) else ()
        src = self.from_clause(obj, referenced_columns((), request.where, extra))
        stmt: SelectStatement
        if isinstance(request, MaxOf):
            stmt = sa.select(sa.func.max(self.cursor_expr(src, request.expr)))
        elif isinstance(request, MinOf):
            stmt = sa.select(sa.func.min(self.cursor_expr(src, request.expr)))
        elif isinstance(request, RowCount):
            stmt = sa.select(sa.func.count())
        else:
            raise TypeError(f"unsupported probe {request!r}")
        return self.apply_filters(stmt.select_from(src), src, request.where)

    def compile(self, stmt: SelectStatement) -> CompiledQuery:
        """Compile for :attr:`dialect`; values stay parameters (never rendered inline).

        Through SQLAlchemy's statement cache (the path ``Connection.execute`` takes, with
        :data:`COMPILED_CACHE`): a statement of the same structure as one compiled before
        reuses that compilation, with this statement's values as its parameters.
        """
        found, extracted, collected, _ = stmt._compile_w_cache(
            self.dialect, compiled_cache=COMPILED_CACHE, column_keys=[])
        compiled = cast("SQLCompiler", found)  # a select always compiles to SQL
        # A cached compilation holds another statement's values: the parameters must come
        # from this statement's own bind values, as the engine's execution context does.
        params = dict(compiled.construct_params(extracted_parameters=extracted,
                                                _collected_params=collected))
        order = compiled.positiontup or ()
        return CompiledQuery(str(compiled), params, tuple(params[n] for n in order))

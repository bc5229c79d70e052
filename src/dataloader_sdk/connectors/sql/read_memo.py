"""Read statements kept by shape, found again without building or keying them in SQLAlchemy.

SQLAlchemy's statement cache (:data:`~dataloader_sdk.connectors.sql.compile.COMPILED_CACHE`)
saves the compile, but finding a statement in it means building the statement and
computing its cache key, which walks every column of its table: about 0.3 ms per read
of a ten-column table, measured in a batch's unchanged sweep of 200 tables, where it was
the largest cost after the reads themselves. Each compiled statement it keeps is also some
300 Python objects; a batch compiling one new statement per table adds enough of them to
set off a full garbage collection (0.1-0.3 s once a first load has left 200k objects).

:class:`ReadMemo` keys a read by what decides its SQL text instead: the connector's class
(its dialect and compile steps), the source object, the columns with the connector's
projection of each, the predicates with the *type* each value binds as (never the
value), and the row limit. On a miss the statement is built and compiled once, without
SQLAlchemy's cache, and only its text and parameter layout are kept. On a hit the values
of this select are bound into that layout: the predicates' values, in the order
:meth:`~dataloader_sdk.connectors.sql.compile.SelectCompiler.apply_filters` numbers them
(``p0``, ``p1``, ...). A compiled statement whose parameters are not exactly those values
plus constants of its key (the limit) is used once and not kept, so a layout this module
did not foresee can only cost a compile, never bind a wrong value.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dataloader_sdk.connectors.sql.compile import CompiledQuery
from dataloader_sdk.model import AnyOf, Compare, IsNull, Predicate, ScalarValue

if TYPE_CHECKING:
    import sqlalchemy as sa
    from sqlalchemy.engine import Dialect

    from dataloader_sdk.connectors.base import SourceColumn
    from dataloader_sdk.connectors.sql.compile import SelectCompiler
    from dataloader_sdk.model import Select
    from dataloader_sdk.statements import SelectStatement

__all__ = ["READ_MEMO", "ReadMemo", "compiled_read", "predicate_shape", "predicate_values"]

#: The bind names ``apply_filters`` gives predicate values.
_VALUE_NAME = re.compile(r"p\d+")


def predicate_values(where: Sequence[Predicate]) -> list[ScalarValue]:
    """The compared values of ``where`` in the order ``apply_filters`` binds them."""
    return list(_values(where))


def _values(where: Sequence[Predicate]) -> Iterator[ScalarValue]:
    for pred in where:
        if isinstance(pred, AnyOf):
            yield from _values(pred.predicates)
        elif isinstance(pred, Compare):
            yield pred.value


def predicate_shape(where: Sequence[Predicate],
                    bind_type: Callable[[ScalarValue], sa.types.TypeEngine[Any]]) -> Hashable:
    """``where`` with each compared value replaced by the type it binds as."""
    shapes: list[Hashable] = []
    for pred in where:
        if isinstance(pred, AnyOf):
            shapes.append(("any", predicate_shape(pred.predicates, bind_type)))
        elif isinstance(pred, Compare):
            shapes.append(("cmp", pred.expr, pred.op, repr(bind_type(pred.value))))
        elif isinstance(pred, IsNull):
            shapes.append(pred)
        else:
            raise TypeError(f"unsupported predicate {pred!r}")
    return tuple(shapes)


@dataclass(frozen=True)
class _Layout:
    """A compiled read: its SQL text, constant parameters, and where its values go."""

    sql: str
    constants: Mapping[str, Any]
    value_names: tuple[str, ...]
    order: tuple[str, ...]

    def bind(self, values: Sequence[ScalarValue]) -> CompiledQuery:
        params = {**self.constants, **dict(zip(self.value_names, values, strict=True))}
        return CompiledQuery(self.sql, params, tuple(params[n] for n in self.order))


class ReadMemo:
    """A thread-safe LRU of compiled read layouts (see the module docstring).

    Args:
        size: the most layouts kept (a table's reads use one or two).
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._layouts: OrderedDict[Hashable, _Layout] = OrderedDict()

    def compiled(self, key: Hashable, values: Sequence[ScalarValue],
                 build: Callable[[], SelectStatement], dialect: Dialect) -> CompiledQuery:
        """The read of ``key`` with ``values`` bound; built by ``build`` on a miss."""
        with self._lock:
            layout = self._layouts.get(key)
            if layout is not None:
                self._layouts.move_to_end(key)
        if layout is not None:
            return layout.bind(values)
        compiled = build().compile(dialect=dialect)
        params = dict(compiled.construct_params())
        order = tuple(compiled.positiontup or ())
        names = tuple(f"p{i}" for i in range(len(values)))
        constants = {n: v for n, v in params.items() if n not in names}
        fits = (all(n in params and params[n] is v for n, v in zip(names, values, strict=True))
                and not any(_VALUE_NAME.fullmatch(n) for n in constants))
        if not fits:  # not the layout this memo knows: use it once, keep nothing
            return CompiledQuery(str(compiled), params, tuple(params[n] for n in order))
        layout = _Layout(str(compiled), constants, names, order)
        with self._lock:
            self._layouts[key] = layout
            while len(self._layouts) > self._size:
                self._layouts.popitem(last=False)
        return layout.bind(values)

    def __len__(self) -> int:
        with self._lock:
            return len(self._layouts)


#: The reads compiled by the connectors of this process that use :func:`compiled_read`
#: (as :data:`~dataloader_sdk.connectors.sql.compile.COMPILED_CACHE` keeps every
#: statement): a table's reads take one or two layouts of a few hundred bytes each.
READ_MEMO = ReadMemo(8192)


def compiled_read(compiler: SelectCompiler, select: Select, columns: Sequence[SourceColumn],
                  *, projections: Hashable = None, limit: int | None = None) -> CompiledQuery:
    """``compiler.build_select(select, columns)`` (with ``limit``) compiled, through
    :data:`READ_MEMO`. ``projections`` is whatever else decides the connector's select
    list (its per-column projections); the connector's class, the object, the columns,
    the predicates' shape and the limit are in the key already."""
    key = (type(compiler), select.source, tuple(columns), projections,
           predicate_shape(select.where, compiler.bind_type), limit)

    def build() -> SelectStatement:
        stmt = compiler.build_select(select, columns)
        return stmt if limit is None else stmt.limit(limit)

    return READ_MEMO.compiled(key, predicate_values(select.where), build, compiler.dialect)

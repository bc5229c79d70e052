"""PostgreSQL's probe hooks: psycopg answers at full precision, a statistics signature.

Probes run through psycopg with server-side bound parameters, so a ``MaxOf`` answer is a
typed Python value at full precision (``Decimal``, aware ``datetime``, ``int``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from dataloader_sdk.connectors.postgresql import catalog as cat
from dataloader_sdk.connectors.sql.cursor import typed_cursor_value
from dataloader_sdk.connectors.sql.probes import ProbeHost, column_type, signature

if TYPE_CHECKING:
    import psycopg

    from dataloader_sdk.model import MaxOf, MinOf, RowCount, ScalarValue, SourceObject
    from dataloader_sdk.statements import SelectStatement

__all__ = ["PostgresProbes"]

_T = TypeVar("_T")


class _Host(ProbeHost, Protocol):
    def _query(self, sql: str, params: Sequence[Any] | dict[str, Any] = (), *,
               action: str, obj: SourceObject | None = None) -> list[tuple[Any, ...]]: ...

    def _on_session(self, fn: Callable[[psycopg.Connection[Any]], _T], *, action: str,
                    obj: SourceObject | None = None, hint: str = "") -> _T: ...

    def together_statement(self, obj: SourceObject,
                           aggregates: Sequence[MaxOf | MinOf | RowCount]) -> SelectStatement: ...

    def _regclass(self, obj: SourceObject) -> int: ...


class PostgresProbes:
    """The probe hooks of :class:`~dataloader_sdk.connectors.postgresql.PostgresConnector`."""

    def _probe_rows(self: _Host, obj: SourceObject, stmt: SelectStatement) -> list[tuple[Any, ...]]:
        compiled = self.compile(stmt)
        return self._query(compiled.sql, dict(compiled.params), action="probing", obj=obj)

    def _probe_rows_together(
        self: _Host, asked: Sequence[tuple[SourceObject, Sequence[MaxOf | MinOf | RowCount]]]
    ) -> list[Sequence[Any]]:
        """Each object's probe statement (the one its own run compiled, so compiling is
        a cache hit), sent in one psycopg pipeline: one round trip for all of them."""
        compiled = [self.compile(self.together_statement(obj, aggregates))
                    for obj, aggregates in asked]

        def run(conn: psycopg.Connection[Any]) -> list[Sequence[Any]]:
            cursors = []
            with conn.pipeline():
                for query in compiled:
                    cursor = conn.cursor()
                    cursor.execute(query.sql, dict(query.params))
                    cursors.append(cursor)
            return [cursor.fetchone() or () for cursor in cursors]

        return self._on_session(run, action="probing", obj=asked[0][0])

    def _cursor_value(self: _Host, obj: SourceObject, column: str, raw: Any) -> ScalarValue:
        # psycopg hands values over typed; a text cursor holding numbers or timestamps
        # compares by collation, not value, and is refused (see typed_cursor_value).
        return typed_cursor_value(self.config.name, obj, column, raw,
                                  column_type(self, obj, column), lambda v, _t: v)

    def _change_signature(self: _Host, obj: SourceObject) -> str | None:
        """relfilenode plus the insert/update/delete counters of ``pg_stat_all_tables``.

        The statistics collector reports with a delay of up to a second or so, so
        strategies must treat this as a hint.
        """
        rows = self._query(cat.CHANGE_SIGNATURE, (self._regclass(obj),),
                           action="reading statistics of", obj=obj)
        return signature(rows[0]) if rows else None

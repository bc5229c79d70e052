"""One page of ``table_control``: filtered, searched and sorted in the database.

The UI's table list must stay fast with 10,000 tables, so filtering, counting and paging
happen in the query (``WHERE`` / ``ORDER BY`` / ``LIMIT`` / ``OFFSET``), never in Python
over every row. Also the per-status counts of the dashboard (one ``GROUP BY``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import sqlalchemy as sa

from dataloader_sdk.control.records import BrokenTable
from dataloader_sdk.control.rows import row_to_table
from dataloader_sdk.control.schema import table_control as T
from dataloader_sdk.errors import ConfigError, FieldProblem, ValidationError
from dataloader_sdk.model import TableRecord, TableStatus

__all__ = ["SORT_KEYS", "SortKey", "TablePage", "TableQuery", "list_table_page", "status_counts"]

SortKey = Literal["name", "source", "strategy", "status", "priority", "last_run_at",
                  "next_run_at", "updated_at"]
SORT_KEYS: tuple[SortKey, ...] = get_args(SortKey)
_STATUSES: tuple[str, ...] = get_args(TableStatus)
#: The largest page the store hands out (a page is rendered whole).
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class TableQuery:
    """What to list: filters (``None`` = any), a search text, the sort and the page.

    Attributes:
        search: Case-insensitive substring of the table name, source table or target.
        page: 1-based page number.
    """

    source: str | None = None
    strategy: str | None = None
    status: str | None = None
    enabled: bool | None = None
    search: str | None = None
    sort: SortKey = "name"
    descending: bool = False
    page: int = 1
    page_size: int = 50

    def problems(self) -> list[FieldProblem]:
        """Every bad field, so a form can show them all at once."""
        out: list[FieldProblem] = []
        if self.sort not in SORT_KEYS:
            out.append(FieldProblem("sort", f"{self.sort!r} is not sortable; use one of "
                                    f"{', '.join(SORT_KEYS)}"))
        if self.status is not None and self.status not in _STATUSES:
            out.append(FieldProblem("status", f"{self.status!r} is not a status; use one of "
                                    f"{', '.join(_STATUSES)}"))
        if isinstance(self.page, bool) or not isinstance(self.page, int) or self.page < 1:
            out.append(FieldProblem("page", "must be a whole number from 1"))
        if (isinstance(self.page_size, bool) or not isinstance(self.page_size, int)
                or not 1 <= self.page_size <= MAX_PAGE_SIZE):
            out.append(FieldProblem("page_size", f"must be 1-{MAX_PAGE_SIZE}"))
        return out


@dataclass(frozen=True)
class TablePage:
    """One page of tables plus the number matching the query (for the pager)."""

    query: TableQuery
    tables: list[TableRecord]
    total: int
    #: Rows on this page that cannot be read (edited by hand), with the reason.
    broken: list[BrokenTable] = field(default_factory=list)

    @property
    def pages(self) -> int:
        """How many pages the matching tables fill (at least 1)."""
        return max(1, -(-self.total // self.query.page_size))


def _where(query: TableQuery) -> list[sa.ColumnElement[bool]]:
    clauses: list[sa.ColumnElement[bool]] = []
    if query.source:
        clauses.append(T.c.source_name == query.source)
    if query.strategy:
        clauses.append(T.c.strategy == query.strategy)
    if query.status:
        clauses.append(T.c.status == query.status)
    if query.enabled is not None:
        clauses.append(T.c.enabled == query.enabled)
    if query.search and query.search.strip():
        text = query.search.strip().lower()
        clauses.append(sa.or_(*(
            sa.func.lower(column).contains(text, autoescape=True)
            for column in (T.c.name, T.c.source_table, T.c.target))))
    return clauses


def _order(query: TableQuery) -> list[Any]:
    column = T.c.source_name if query.sort == "source" else T.c[query.sort]
    primary = column.desc() if query.descending else column.asc()
    if query.sort in ("last_run_at", "next_run_at"):
        primary = primary.nulls_last()  # "never ran" after the real times, both ways
    return [primary, T.c.name.asc()]  # name breaks ties, so paging is stable


def list_table_page(conn: sa.Connection, query: TableQuery) -> TablePage:
    """One page of tables matching ``query``.

    Raises:
        ValidationError: A bad sort, status, page or page size (all listed).
    """
    if problems := query.problems():
        raise ValidationError("table listing", problems)
    where = _where(query)
    total = conn.scalar(sa.select(sa.func.count()).select_from(T).where(*where)) or 0
    rows = conn.execute(sa.select(T).where(*where).order_by(*_order(query))
                        .limit(query.page_size)
                        .offset((query.page - 1) * query.page_size))
    tables: list[TableRecord] = []
    broken: list[BrokenTable] = []
    for row in rows:
        try:
            tables.append(row_to_table(row))
        except ConfigError as exc:
            broken.append(BrokenTable(name=row.name, status=str(row.status), problem=str(exc)))
    return TablePage(query=query, tables=tables, total=int(total), broken=broken)


def status_counts(conn: sa.Connection) -> dict[str, int]:
    """How many tables are in each status (every status present, zeros included)."""
    counts = dict.fromkeys(_STATUSES, 0)
    for status, count in conn.execute(sa.select(T.c.status, sa.func.count())
                                      .group_by(T.c.status)):
        counts[str(status)] = int(count)
    return counts

"""Source simulations for the conformance suite: a real table the suite mutates.

A :class:`SourceHarness` gives fresh tables of the conformance shape and the
:class:`~dataloader_sdk.model.SourceConfig` a connector reads them with. The built-in
:class:`SqlAlchemySourceHarness` works for any database SQLAlchemy can write to (SQLite,
PostgreSQL, MariaDB); a plugin author with another database implements the protocol.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal, Protocol

import sqlalchemy as sa

from dataloader_sdk.model import SourceConfig

__all__ = ["SimRow", "SimTable", "SourceHarness", "SqlAlchemySourceHarness"]

#: Columns of the conformance table, in order.
SIM_COLUMNS = ("id", "val", "cur", "day", "gone")


@dataclass(frozen=True)
class SimRow:
    """One row of the conformance table. ``cur`` is the cursor (NULL allowed)."""

    id: int
    val: str
    cur: int | None
    day: date
    gone: bool = False

    def key(self) -> tuple[Any, ...]:
        """The row as a comparable tuple, in :data:`SIM_COLUMNS` order."""
        return (self.id, self.val, self.cur, self.day, self.gone)


class SimTable(Protocol):
    """A live source table the suite mutates."""

    name: str

    def insert(self, rows: list[SimRow]) -> None:
        """Insert rows."""
        ...

    def update(self, row: SimRow) -> None:
        """Replace the row with the same id."""
        ...

    def delete(self, row_id: int) -> None:
        """Delete a row."""
        ...

    def drop(self) -> None:
        """Drop the table."""
        ...


class SourceHarness(Protocol):
    """Makes conformance tables on one source and says how to read them."""

    #: Shown in test ids.
    name: str
    #: The schema the tables live in (``source_schema`` of the loaded table).
    schema: str | None
    #: ``exact`` if the connector's ChangeSignature probe sees every change (a change
    #: counter, a commit version); ``content`` if it is a hash of the rows (it rightly
    #: sees no change when a row is inserted and deleted again); ``none`` if it answers
    #: None (check_and_load then compares row count and max(cursor) only).
    change_signature: Literal["exact", "content", "none"]

    def create_table(self) -> SimTable:
        """A new, empty conformance table with a unique name."""
        ...

    def source_config(self, name: str) -> SourceConfig:
        """The source config (named ``name``) a connector reads these tables with."""
        ...


@dataclass
class _SqlTable:
    engine: sa.Engine
    table: sa.Table
    after_write: str | None = None
    name: str = field(init=False)

    def __post_init__(self) -> None:
        self.name = self.table.name

    def _run(self, stmt: Any, params: Any = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(stmt, params) if params is not None else conn.execute(stmt)
            if self.after_write:
                conn.execute(sa.text(self.after_write))

    def insert(self, rows: list[SimRow]) -> None:
        if rows:
            self._run(self.table.insert(), [_params(r) for r in rows])

    def update(self, row: SimRow) -> None:
        values = _params(row)
        del values["id"]
        self._run(self.table.update().where(self.table.c.id == row.id).values(**values))

    def delete(self, row_id: int) -> None:
        self._run(self.table.delete().where(self.table.c.id == row_id))

    def drop(self) -> None:
        self.table.drop(self.engine, checkfirst=True)


def _params(row: SimRow) -> dict[str, Any]:
    return {"id": row.id, "val": row.val, "cur": row.cur, "day": row.day, "gone": row.gone}


class SqlAlchemySourceHarness:
    """Conformance tables in any SQLAlchemy database.

    Args:
        url: a SQLAlchemy URL the suite writes with (may carry a password: test only).
        config: the source config the connector under test reads with (any name).
        schema: the schema to create tables in.
        change_signature: see :class:`SourceHarness`.
        after_write: SQL run after each change in the same transaction (PostgreSQL:
            ``SELECT pg_stat_force_next_flush()`` so statistics are current at once).
    """

    def __init__(
        self,
        url: str,
        config: SourceConfig,
        *,
        name: str,
        schema: str | None = None,
        change_signature: Literal["exact", "content", "none"] = "none",
        after_write: str | None = None,
    ) -> None:
        self.name = name
        self.change_signature = change_signature
        self._config = config
        self.schema = schema
        self._after_write = after_write
        # NullPool: each change is its own session, as independent writers would be.
        self._engine = sa.create_engine(url, poolclass=sa.pool.NullPool)

    def create_table(self) -> SimTable:
        table = sa.Table(
            f"items_{uuid.uuid4().hex[:10]}",
            sa.MetaData(schema=self.schema),
            sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
            sa.Column("val", sa.String(40), nullable=False),
            sa.Column("cur", sa.BigInteger, nullable=True),
            sa.Column("day", sa.Date, nullable=False),
            sa.Column("gone", sa.Boolean, nullable=False),
        )
        table.create(self._engine)
        return _SqlTable(self._engine, table, self._after_write)

    def source_config(self, name: str) -> SourceConfig:
        return replace(self._config, name=name)

    def dispose(self) -> None:
        """Release connections."""
        self._engine.dispose()

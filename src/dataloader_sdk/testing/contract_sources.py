"""Sources for the connector-contract check: make shaped tables, count open handles.

A plugin author implements :class:`ContractSource` for their database, or uses
:class:`SqlAlchemyContractSource` for any database SQLAlchemy can write to. The
``open_handles`` hook is how the check sees leaked resources after an abandoned read:
SQLite counts this process's open descriptors of the database file, PostgreSQL counts
the sessions connected to the database; another source passes its own counter.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa

from dataloader_sdk.model import SourceConfig, SourceObject
from dataloader_sdk.testing.shapes import ColumnKind, TableShape

if TYPE_CHECKING:
    from dataloader_sdk.secrets import Secret

__all__ = ["ContractSource", "ShapeSource", "SqlAlchemyContractSource", "open_file_handles"]


class ContractSource(Protocol):
    """What the connector-contract check needs from the source under test."""

    #: Shown in messages.
    name: str

    def source_config(self) -> SourceConfig:
        """The config the connector factory opens this source with."""
        ...

    def secret(self) -> Secret | None:
        """The resolved secret for :meth:`source_config` (``None`` if it needs none)."""
        ...

    def create_table(self, shape: TableShape, rows: Sequence[tuple[object, ...]]) -> SourceObject:
        """Create a new table of ``shape`` (unique name), holding ``rows``."""
        ...

    def drop_table(self, obj: SourceObject) -> None:
        """Drop a table made by :meth:`create_table`."""
        ...

    def open_handles(self) -> int | None:
        """How many cursors/connections/files are open at the source now (``None``:
        this source cannot tell, and the resource check is skipped)."""
        ...


class ShapeSource(ContractSource, Protocol):
    """A :class:`ContractSource` whose tables the kit may change (for shape loads)."""

    def insert(self, obj: SourceObject, shape: TableShape,
               rows: Sequence[tuple[object, ...]]) -> None:
        """Add ``rows`` to a table made by :meth:`create_table`."""
        ...

    def rewrite(self, obj: SourceObject, shape: TableShape,
                rows: Sequence[tuple[object, ...]]) -> None:
        """Replace every row of the table by ``rows``, in one transaction."""
        ...


def _sa_type(kind: ColumnKind) -> sa.types.TypeEngine[Any]:
    types: dict[ColumnKind, sa.types.TypeEngine[Any]] = {
        "int64": sa.BigInteger(), "float64": sa.Double(), "decimal": sa.Numeric(18, 3),
        "string": sa.String(200), "bool": sa.Boolean(), "date": sa.Date(),
        "timestamp": sa.DateTime(timezone=False),
    }
    return types[kind]


def open_file_handles(path: Path) -> int | None:
    """This process's open descriptors of ``path`` and its journal files (Linux only)."""
    fds = Path("/proc/self/fd")
    if not fds.is_dir():
        return None
    wanted = {str(path), f"{path}-wal", f"{path}-journal", f"{path}-shm"}
    count = 0
    for fd in fds.iterdir():
        try:
            count += os.readlink(fd) in wanted
        except OSError:
            continue  # closed while listing
    return count


class SqlAlchemyContractSource:
    """Contract tables in any SQLAlchemy database.

    Args:
        url: a SQLAlchemy URL the check writes with (may carry a password: test only).
        config: the source config the connector under test reads with.
        name: shown in messages.
        schema: the schema to create tables in.
        secret: the resolved secret of ``config``.
        open_handles: the leak counter; default: open descriptors of the file for
            SQLite, sessions on the database for PostgreSQL, else none.
    """

    def __init__(
        self, url: str, config: SourceConfig, *, name: str, schema: str | None = None,
        secret: Secret | None = None, open_handles: Callable[[], int | None] | None = None,
    ) -> None:
        self.name = name
        self.schema = schema
        self._config = config
        self._secret = secret
        # NullPool: the check's own writes leave no connection behind to be counted.
        self._engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        self._handles = open_handles or self._default_counter()

    def _default_counter(self) -> Callable[[], int | None]:
        url = self._engine.url
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            path = Path(str(url.database)).resolve()
            return lambda: open_file_handles(path)
        if url.get_backend_name() == "postgresql":
            return self._postgres_sessions
        return lambda: None

    def _postgres_sessions(self) -> int:
        query = sa.text("SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def source_config(self) -> SourceConfig:
        return self._config

    def secret(self) -> Secret | None:
        return self._secret

    def create_table(self, shape: TableShape, rows: Sequence[tuple[object, ...]]) -> SourceObject:
        table = self._table(f"{shape.id}_{uuid.uuid4().hex[:8]}", shape)
        table.create(self._engine)
        self.insert(SourceObject(table=table.name, schema=self.schema), shape, rows)
        return SourceObject(table=table.name, schema=self.schema)

    def _table(self, name: str, shape: TableShape) -> sa.Table:
        return sa.Table(
            name, sa.MetaData(schema=self.schema),
            *(sa.Column(c.name, _sa_type(c.kind), nullable=c.nullable,
                        primary_key=c.name in shape.primary_key, autoincrement=False)
              for c in shape.columns),
        )

    def insert(self, obj: SourceObject, shape: TableShape,
               rows: Sequence[tuple[object, ...]]) -> None:
        self._write(obj, shape, rows, replace=False)

    def rewrite(self, obj: SourceObject, shape: TableShape,
                rows: Sequence[tuple[object, ...]]) -> None:
        self._write(obj, shape, rows, replace=True)

    def _write(self, obj: SourceObject, shape: TableShape,
               rows: Sequence[tuple[object, ...]], *, replace: bool) -> None:
        table = self._table(str(obj.table), shape)
        with self._engine.begin() as conn:
            if replace:
                conn.execute(table.delete())
            for start in range(0, len(rows), 5000):
                conn.execute(table.insert(), [dict(zip(shape.names, row, strict=True))
                                              for row in rows[start:start + 5000]])

    def drop_table(self, obj: SourceObject) -> None:
        table = sa.Table(str(obj.table), sa.MetaData(schema=obj.schema))
        table.drop(self._engine, checkfirst=True)

    def open_handles(self) -> int | None:
        return self._handles()

    def dispose(self) -> None:
        """Release the check's own connections."""
        self._engine.dispose()

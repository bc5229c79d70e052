"""How a table's rows are read: through its connector (the default) or Spark JDBC.

``connector`` streams Arrow batches from the source's own driver (PostgreSQL's ADBC or
connectorx, pyodbc, ...) to any engine. ``jdbc`` has a Spark engine read the step's window
with Spark's JDBC source in ``partitions`` ranges of ``partition_column`` (plus one
partition for NULLs), so the rows are read by the executors in parallel and written to
Delta without passing through Python. Both paths run the same steps under the same lease,
replay check, lineage, commit metadata, control state and history; only the read differs.

Stored as the ``read`` column of ``table_control`` (JSON; ``NULL``: the defaults), written
as the ``read:`` mapping of a config file and set by ``dataloader tables add --read-path``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Literal, get_args

from dataloader_sdk.errors import FieldProblem, ValidationError
from dataloader_sdk.model._base import JSONValue, identifier_problem

__all__ = ["DEFAULT_JDBC_PARTITIONS", "TABLE_READ_PATHS", "TableRead", "TableReadPath"]

TableReadPath = Literal["connector", "jdbc"]
#: The read paths a table may name.
TABLE_READ_PATHS: tuple[TableReadPath, ...] = get_args(TableReadPath)

#: Range partitions of a ``jdbc`` read unless ``partitions`` says otherwise.
DEFAULT_JDBC_PARTITIONS = 8

_JDBC_ONLY = ("partition_column", "partitions", "fetch_size")


@dataclass(frozen=True)
class TableRead:
    """A table's read path and its settings.

    Attributes:
        path: ``connector`` (default) or ``jdbc`` (a Spark engine and a source whose
            connector declares JDBC; see docs/databricks.md).
        partition_column: ``jdbc``: the numeric, date or timestamp column the window is
            split on (required for ``jdbc``).
        partitions: ``jdbc``: how many ranges (default :data:`DEFAULT_JDBC_PARTITIONS`);
            rows whose partition column is NULL come in one more partition.
        fetch_size: ``jdbc``: rows per round trip (default the source's
            ``options.fetchsize``, else 10,000).
    """

    path: TableReadPath = "connector"
    partition_column: str | None = None
    partitions: int | None = None
    fetch_size: int | None = None

    @property
    def is_default(self) -> bool:
        """Whether nothing differs from the defaults (stored as ``NULL``)."""
        return self == TableRead()

    @property
    def jdbc_partitions(self) -> int:
        """The number of range partitions a ``jdbc`` read uses."""
        return self.partitions if self.partitions is not None else DEFAULT_JDBC_PARTITIONS

    def problems(self) -> list[FieldProblem]:
        """Every invalid setting, as ``read.FIELD`` problems saying what to do."""
        out: list[FieldProblem] = []
        if self.path not in TABLE_READ_PATHS:
            out.append(FieldProblem("read.path", f"{self.path!r} is not a read path; use "
                                    f"one of {', '.join(TABLE_READ_PATHS)}"))
        if self.path == "jdbc" and self.partition_column is None:
            out.append(FieldProblem("read.partition_column", "the jdbc read path needs a "
                                    "numeric, date or timestamp column to partition on "
                                    "(e.g. the primary key)"))
        if self.partition_column is not None and (
                p := identifier_problem(self.partition_column)):
            out.append(FieldProblem("read.partition_column", p))
        for name in ("partitions", "fetch_size"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 1):
                out.append(FieldProblem(f"read.{name}", f"must be a whole number of at least "
                                        f"1, got {value!r}"))
        if self.path == "connector":
            out.extend(
                FieldProblem(f"read.{name}", "only applies to the jdbc read path; set "
                             "read.path to jdbc or remove it")
                for name in _JDBC_ONLY if getattr(self, name) is not None
            )
        return out

    def to_json(self) -> dict[str, JSONValue] | None:
        """The settings that differ from the defaults; ``None`` when none do."""
        if self.is_default:
            return None
        out: dict[str, JSONValue] = {"path": self.path}
        for name in _JDBC_ONLY:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    @classmethod
    def from_json(cls, data: JSONValue) -> TableRead:
        """Inverse of :meth:`to_json` (``None``: the defaults).

        Values are kept as given, so :meth:`problems` reports bad ones with the rest of a
        table's fields.

        Raises:
            ValidationError: ``data`` is not an object, or names an unknown setting.
        """
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise ValidationError("table read settings", [FieldProblem(
                "read", f"must be an object such as {{path: jdbc, partition_column: id}}, "
                f"got {data!r}")])
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValidationError("table read settings", [
                FieldProblem(f"read.{key}", f"unknown setting; known: {', '.join(sorted(known))}")
                for key in unknown])
        return cls(**{key: value for key, value in data.items()})  # type: ignore[arg-type]

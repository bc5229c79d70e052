"""``acme_csv``: each table is ``<database>/<table>.csv``, read with pyarrow."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from dataloader_sdk.connectors.base import SourceColumn
from dataloader_sdk.errors import FieldProblem, SourcePermanentError
from dataloader_sdk.model import (
    Compare,
    IsNull,
    MaxOf,
    ProbeRequest,
    RowCount,
    ScalarValue,
    Select,
    SourceConfig,
    SourceObject,
)
from dataloader_sdk.secrets import Secret


class CsvConnector:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, obj: SourceObject) -> Path:
        path = self.root / f"{obj.table}.csv"
        if obj.query is not None or not path.exists():
            raise SourcePermanentError(f"acme_csv: no file {path} for table {obj}")
        return path

    def _table(self, obj: SourceObject) -> pa.Table:
        return pacsv.read_csv(self._path(obj))

    def columns(self, obj: SourceObject) -> tuple[SourceColumn, ...]:
        schema = self._table(obj).schema
        return tuple(SourceColumn(f.name, str(f.type), f.type) for f in schema)

    def primary_key(self, obj: SourceObject) -> tuple[str, ...]:
        return ()

    def _filtered(self, obj: SourceObject, where: tuple[object, ...]) -> pa.Table:
        table = self._table(obj)
        for pred in where:
            if isinstance(pred, Compare):
                col = table[pred.expr.columns[0]]
                ops = {">=": pc.greater_equal, ">": pc.greater, "<=": pc.less_equal,
                       "<": pc.less, "=": pc.equal}
                table = table.filter(ops[pred.op](col, pred.value))
            elif isinstance(pred, IsNull):
                mask = pc.is_null(table[pred.expr.columns[0]])
                table = table.filter(pc.invert(mask) if pred.negate else mask)
        return table

    def probe(self, obj: SourceObject, request: ProbeRequest) -> ScalarValue | None:
        table = self._filtered(obj, request.where)
        if isinstance(request, RowCount):
            return table.num_rows
        assert isinstance(request, MaxOf)
        return pc.max(table[request.expr.columns[0]]).as_py()  # type: ignore[no-any-return]

    def read(self, select: Select, *, batch_rows: int = 65536) -> pa.RecordBatchReader:
        table = self._filtered(select.source, select.where)
        return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(batch_rows))

    def check(self) -> None:
        if not self.root.is_dir():
            raise SourcePermanentError(f"acme_csv: directory {self.root} does not exist")

    def close(self) -> None:
        return None


class CsvConnectorFactory:
    needs_secret = False

    def validate(self, config: SourceConfig) -> list[FieldProblem]:
        if not config.database:
            return [FieldProblem("database", "acme_csv needs the directory holding the CSV files")]
        return []

    def open(self, config: SourceConfig, secret: Secret | None) -> CsvConnector:
        return CsvConnector(Path(str(config.database)))

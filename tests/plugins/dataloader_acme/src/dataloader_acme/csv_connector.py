"""``acme_csv``: each table is ``<database>/<table>.csv``, read with pyarrow."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from dataloader_sdk.connectors.base import SourceColumn
from dataloader_sdk.errors import FieldProblem, SourcePermanentError
from dataloader_sdk.model import (
    AnyOf,
    IsNull,
    MaxOf,
    MinOf,
    Predicate,
    ProbeRequest,
    RowCount,
    ScalarValue,
    Select,
    SourceConfig,
    SourceObject,
)
from dataloader_sdk.secrets import Secret

_TYPES = {"int64": pa.int64(), "string": pa.string(), "date32": pa.date32(),
          "bool": pa.bool_(), "float64": pa.float64(), "decimal": pa.decimal128(18, 3),
          "timestamp": pa.timestamp("us")}
_OPS = {">=": pc.greater_equal, ">": pc.greater, "<=": pc.less_equal, "<": pc.less,
        "=": pc.equal}


def _mask(table: pa.Table, pred: Predicate) -> pa.ChunkedArray:
    """Where ``pred`` holds (SQL semantics: comparisons with NULL are not true)."""
    if isinstance(pred, AnyOf):
        masks = [pc.fill_null(_mask(table, p), False) for p in pred.predicates]
        out = masks[0]
        for mask in masks[1:]:
            out = pc.or_(out, mask)
        return out
    column = table[pred.expr.columns[0]]
    if isinstance(pred, IsNull):
        return pc.is_valid(column) if pred.negate else pc.is_null(column)
    return _OPS[pred.op](column, pa.scalar(pred.value, column.type))


class CsvConnector:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, obj: SourceObject) -> Path:
        path = self.root / f"{obj.table}.csv"
        if obj.query is not None or not path.exists():
            raise SourcePermanentError(f"acme_csv: no file {path} for table {obj}")
        return path

    def _table(self, obj: SourceObject) -> pa.Table:
        # A sidecar <table>.schema.json ({"column": "int64", ...}) pins the column types;
        # without it pyarrow infers them from the data.
        path = self._path(obj)
        sidecar = path.with_suffix(".schema.json")
        if not sidecar.exists():
            return pacsv.read_csv(path)
        types = {name: _TYPES[text] for name, text in json.loads(sidecar.read_text()).items()}
        return pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True,
                                                 null_values=[""]),
        )

    def columns(self, obj: SourceObject) -> tuple[SourceColumn, ...]:
        schema = self._table(obj).schema
        return tuple(SourceColumn(f.name, str(f.type), f.type) for f in schema)

    def primary_key(self, obj: SourceObject) -> tuple[str, ...]:
        return ()

    def _filtered(self, obj: SourceObject, where: tuple[Predicate, ...]) -> pa.Table:
        table = self._table(obj)
        for pred in where:
            table = table.filter(pc.fill_null(_mask(table, pred), False))
        return table

    def probe(self, obj: SourceObject, request: ProbeRequest) -> ScalarValue | None:
        if isinstance(request, RowCount | MaxOf | MinOf):
            table = self._filtered(obj, request.where)
        # pyarrow is untyped here: each answer states the type a CSV column's values have.
        if isinstance(request, RowCount):
            rows: int = table.num_rows
            return rows
        if isinstance(request, MaxOf | MinOf):
            extreme = pc.max if isinstance(request, MaxOf) else pc.min
            value: ScalarValue | None = extreme(table[request.expr.columns[0]]).as_py()
            return value
        return None  # ChangeSignature: a CSV file has none; strategies fall back

    def read(self, select: Select, *, batch_rows: int | None = None) -> pa.RecordBatchReader:
        table = self._filtered(select.source, select.where)
        if select.columns is not None:
            table = table.select(list(select.columns))
        return pa.RecordBatchReader.from_batches(
            table.schema, table.to_batches(batch_rows or 65536))

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

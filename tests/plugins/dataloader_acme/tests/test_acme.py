"""The sample third-party plugin, installed by entry point: a table loads with its connector
and strategy, and the connector passes the dataloader-sdk conformance kit."""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path
from typing import Literal

import pytest

from dataloader_sdk.config import Settings
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.model import SourceConfig, TableConfig, TargetName
from dataloader_sdk.plugins import PluginHost
from dataloader_sdk.testing import CASES, ConformanceCase, EngineFactory, SimRow, run_conformance
from dataloader_sdk.testing.sim import SIM_COLUMNS

pytestmark = pytest.mark.integration


def test_a_table_loads_through_the_plugins_connector_and_strategy(tmp_path: Path) -> None:
    data = tmp_path / "csv"
    data.mkdir()
    (data / "people.csv").write_text("id,name\n1,ada\n2,grace\n")
    host = PluginHost()
    assert host.plugin_of("db_type", "acme_csv") == "acme"
    loader = DataLoader.from_settings(Settings.default(tmp_path / "project"), host=host)
    loader.add_source(SourceConfig(name="files", db_type="acme_csv", database=str(data)),
                      actor="test")
    loader.add_table(TableConfig(name="people", source="files", source_table="people",
                                 target=TargetName("bronze", "people"),
                                 strategy="acme_snapshot",
                                 strategy_options={"label": "daily"}), actor="test")
    first = loader.load_table("people")
    second = loader.load_table("people")
    assert (first.rows_written, second.rows_written) == (2, 2)
    table = loader.engine.read(TargetName("bronze", "people"))
    assert sorted(table["name"].to_pylist()) == ["ada", "ada", "grace", "grace"]
    assert loader.store.get_table("people").state.extra == {"snapshots": 2}
    loader.close()


class CsvTable:
    """A conformance table kept as a CSV file plus a schema sidecar."""

    def __init__(self, root: Path) -> None:
        self.name = f"items_{uuid.uuid4().hex[:8]}"
        self.path = root / f"{self.name}.csv"
        self.rows: dict[int, SimRow] = {}
        root.joinpath(f"{self.name}.schema.json").write_text(json.dumps(
            {"id": "int64", "val": "string", "cur": "int64", "day": "date32", "gone": "bool"}))
        self._flush()

    def _flush(self) -> None:
        with self.path.open("w", newline="") as handle:
            out = csv.writer(handle)
            out.writerow(SIM_COLUMNS)
            for r in sorted(self.rows.values(), key=lambda r: r.id):
                out.writerow([r.id, r.val, "" if r.cur is None else r.cur, r.day.isoformat(),
                              "true" if r.gone else "false"])

    def insert(self, rows: list[SimRow]) -> None:
        self.rows.update((r.id, r) for r in rows)
        self._flush()

    def update(self, row: SimRow) -> None:
        self.rows[row.id] = row
        self._flush()

    def delete(self, row_id: int) -> None:
        del self.rows[row_id]
        self._flush()

    def drop(self) -> None:
        self.path.unlink(missing_ok=True)


class CsvHarness:
    name: str = "acme_csv"
    schema: str | None = None
    change_signature: Literal["exact", "content", "none"] = "none"

    def __init__(self, root: Path) -> None:
        self.root = root

    def create_table(self) -> CsvTable:
        return CsvTable(self.root)

    def source_config(self, name: str) -> SourceConfig:
        return SourceConfig(name=name, db_type="acme_csv", database=str(self.root))


@pytest.mark.conformance
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_acme_csv_passes_the_conformance_kit(
    case: ConformanceCase, delta_rs_engine_factory: EngineFactory, tmp_path: Path
) -> None:
    root = tmp_path / "csv"
    root.mkdir()
    run_conformance(case, CsvHarness(root), delta_rs_engine_factory, workdir=tmp_path,
                    examples=5)


@pytest.mark.conformance
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_acme_sqlite_on_the_sql_template_passes_the_conformance_kit(
    case: ConformanceCase, delta_rs_engine_factory: EngineFactory, tmp_path: Path
) -> None:
    from dataloader_sdk.testing.sim import SqlAlchemySourceHarness

    db = tmp_path / "source.db"
    harness = SqlAlchemySourceHarness(
        f"sqlite:///{db}", SourceConfig(name="x", db_type="acme_sqlite", database=str(db)),
        name="acme_sqlite")
    try:
        run_conformance(case, harness, delta_rs_engine_factory, workdir=tmp_path, examples=5)
    finally:
        harness.dispose()


def test_the_sqlite_connector_streams_bounded_batches_and_releases_abandoned_reads(
        tmp_path: Path) -> None:
    import sqlite3

    from dataloader_acme.sqlite_connector import AcmeSqliteConnectorFactory

    from dataloader_sdk.errors import SourcePermanentError
    from dataloader_sdk.model import Select, SourceObject

    db = tmp_path / "s.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, day DATE, ok BOOLEAN)")
        con.executemany("INSERT INTO t VALUES (?, '2024-01-02', 1)", [(i,) for i in range(10)])
    factory = AcmeSqliteConnectorFactory()
    config = SourceConfig(name="s", db_type="acme_sqlite", database=str(db),
                          options={"batch_rows": 4})
    assert factory.validate(config) == []
    conn = factory.open(config, None)
    try:
        table = SourceObject(table="t")
        assert conn.primary_key(table) == ("id",)
        assert [b.num_rows for b in conn.read(Select(table))] == [4, 4, 2]
        abandoned = conn.read(Select(table), batch_rows=3)
        next(iter(abandoned))
        abandoned.close()  # the cursor is closed; the connection serves the next read
        assert conn.read(Select(table, columns=("day",))).read_all().num_rows == 10
        with pytest.raises(SourcePermanentError, match="does not exist"):
            conn.columns(SourceObject(table="nope"))
    finally:
        conn.close()


def test_docs_plugins_shows_the_sqlite_connector_exactly() -> None:
    root = Path(__file__).resolve().parents[4]
    code = (Path(__file__).resolve().parents[1] / "src" / "dataloader_acme"
            / "sqlite_connector.py").read_text()
    page = (root / "docs" / "plugins.md").read_text()
    marker = "<!-- illustrative: tests/plugins/dataloader_acme/src/dataloader_acme/sqlite_connector.py"
    block = page.split(marker, 1)[1].split("```python\n", 1)[1].split("```\n", 1)[0]
    assert block == code

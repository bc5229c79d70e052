"""The sample third-party plugin, installed by entry point: a table loads with its connector
and strategy, and the connector passes the dataloader-sdk conformance kit."""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path

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
    name = "acme_csv"
    schema = None
    change_signature = "none"

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

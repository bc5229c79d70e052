"""The conformance suite on the ClickHouse stand-in (chDB, in-process).

ClickHouse has no transactional UPDATE/DELETE: the harness changes rows with synchronous
mutations (``ALTER TABLE ... UPDATE/DELETE ... SETTINGS mutations_sync = 2``), which is
what a ClickHouse source that is updated at all does. Its ``ORDER BY id`` key is what the
connector reports as the primary key (not enforced unique; the suite never inserts
duplicates). The part-based change signature sees every change, so it runs as ``exact``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import pytest

from dataloader_sdk.model import SourceConfig
from dataloader_sdk.testing import CASES, ConformanceCase, EngineFactory, run_conformance
from dataloader_sdk.testing.sim import SimRow, SimTable
from tests.integration.test_connector_clickhouse import chdb_client, chdb_config

pytestmark = [pytest.mark.conformance, pytest.mark.integration]

# Each mutation rewrites a part synchronously (~10-30 ms in chDB); 4 examples x 10 steps
# per case keep the file under a minute on 2 cores. Raise with DL_CONFORMANCE_* locally.
EXAMPLES, STEPS = 4, 10
_COLUMNS = ["id", "val", "cur", "day", "gone"]


@dataclass
class _ChTable:
    client: Any
    database: str
    name: str

    def _cmd(self, sql: str, params: dict[str, Any]) -> None:
        self.client.command(sql.format(t=f"{self.database}.{self.name}"), parameters=params)

    def insert(self, rows: list[SimRow]) -> None:
        if rows:
            self.client.insert(self.name, [list(r.key()) for r in rows], database=self.database,
                               column_names=_COLUMNS)

    def update(self, row: SimRow) -> None:
        self._cmd("ALTER TABLE {t} UPDATE val = %(val)s, cur = %(cur)s, day = %(day)s, "
                  "gone = %(gone)s WHERE id = %(id)s SETTINGS mutations_sync = 2",
                  {"val": row.val, "cur": row.cur, "day": row.day, "gone": row.gone,
                   "id": row.id})

    def delete(self, row_id: int) -> None:
        self._cmd("ALTER TABLE {t} DELETE WHERE id = %(id)s SETTINGS mutations_sync = 2",
                  {"id": row_id})

    def drop(self) -> None:
        self.client.command(f"DROP TABLE IF EXISTS {self.database}.{self.name}")


class ClickHouseHarness:
    """Conformance tables in one chDB database."""

    name = "clickhouse"
    change_signature: Literal["exact", "none"] = "exact"

    def __init__(self) -> None:
        self.database = "conf_" + uuid.uuid4().hex[:8]
        self.schema: str | None = self.database
        self._client = chdb_client()
        self._client.command(f"CREATE DATABASE {self.database}")

    def create_table(self) -> SimTable:
        name = f"items_{uuid.uuid4().hex[:10]}"
        self._client.command(
            f"CREATE TABLE {self.database}.{name} (id Int64, val String, cur Nullable(Int64), "
            "day Date, gone Bool) ENGINE = MergeTree ORDER BY id")
        return _ChTable(self._client, self.database, name)

    def source_config(self, name: str) -> SourceConfig:
        return replace(chdb_config(name), database=self.database)

    def dispose(self) -> None:
        self._client.command(f"DROP DATABASE IF EXISTS {self.database}")
        self._client.close()


@pytest.fixture
def clickhouse_harness() -> Iterator[ClickHouseHarness]:
    harness = ClickHouseHarness()
    yield harness
    harness.dispose()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_strategy_matches_its_reference_model_on_clickhouse(
    case: ConformanceCase,
    clickhouse_harness: ClickHouseHarness,
    delta_rs_engine_factory: EngineFactory,
    tmp_path: Path,
) -> None:
    run_conformance(case, clickhouse_harness, delta_rs_engine_factory, workdir=tmp_path,
                    examples=EXAMPLES, steps=STEPS)

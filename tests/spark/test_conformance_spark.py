"""The conformance suite on the Spark engine: every strategy against its reference model.

Spark writes take about a second each on 2 cores, so this runs fewer random sequences
than the delta_rs run (scale with DL_SPARK_CONFORMANCE_EXAMPLES); the source is SQLite,
since the source side is proven on every stand-in by tests/conformance.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from dataloader_sdk.engines.base import Engine
from dataloader_sdk.engines.spark import SparkEngine
from dataloader_sdk.model import SourceConfig
from dataloader_sdk.testing import CASES, ConformanceCase, SqlAlchemySourceHarness, run_conformance

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = [pytest.mark.conformance, pytest.mark.integration]

EXAMPLES = int(os.environ.get("DL_SPARK_CONFORMANCE_EXAMPLES", "2"))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_spark_engine_matches_the_reference_model(
    case: ConformanceCase, spark: SparkSession, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'source.db'}"
    harness = SqlAlchemySourceHarness(
        url, SourceConfig(name="x", db_type="sqlalchemy", options={"url": url}), name="sqlite")

    def engine(root: Path) -> Engine:
        return SparkEngine(spark=spark, root=str(root))

    try:
        run_conformance(case, harness, engine, workdir=tmp_path, examples=EXAMPLES, steps=8)
    finally:
        harness.dispose()

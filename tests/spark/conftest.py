"""One local SparkSession with Delta for the whole test run (marker ``spark``).

Jars come from Maven Central through ``spark.jars.packages`` and are cached in Ivy's
default directory (``~/.ivy2.5.2``) between runs. The session is tuned for tiny data on a
2-core machine: 2 shuffle partitions, 2 Delta snapshot partitions, no UI.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

pytest.importorskip("pyspark", reason="pyspark not installed (pip install '.[spark]')")
pytest.importorskip("delta", reason="delta-spark not installed (pip install '.[spark]')")
if shutil.which("java") is None:  # pragma: no cover - depends on the machine
    pytest.skip("the spark tests need Java 17 (java not on PATH)", allow_module_level=True)

from dataloader_sdk.connectors.postgresql.jdbc import POSTGRES_JDBC_PACKAGE
from dataloader_sdk.engines.spark import SparkEngine

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


# pyspark 4.0's _load_from_socket (collect, first, toArrow) leaves its socket to the garbage
# collector, which emits ResourceWarning; that is pyspark's leak, not ours. Filtered for the
# spark tests only, so a socket leak anywhere else still fails the suite.
PYSPARK_SOCKET_FILTER = "ignore:unclosed <socket.socket:ResourceWarning"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/spark with ``spark`` and the pyspark socket filter."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.spark)
            item.add_marker(pytest.mark.filterwarnings(PYSPARK_SOCKET_FILTER))


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    """The one SparkSession of the test run."""
    from delta import configure_spark_with_delta_pip
    from pyspark.sql import SparkSession

    warehouse = Path(tempfile.mkdtemp(prefix="dl-spark-wh-"))
    builder = (
        SparkSession.builder.master("local[2]")
        .appName("dataloader-sdk-tests")
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog",
                "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.databricks.delta.snapshotPartitions", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={warehouse}")
        # A non-UTC session zone proves the engine never depends on the session zone.
        .config("spark.sql.session.timeZone", "America/New_York")
    )
    session = configure_spark_with_delta_pip(
        builder, extra_packages=[POSTGRES_JDBC_PACKAGE]
    ).getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()
        shutil.rmtree(warehouse, ignore_errors=True)


@pytest.fixture
def spark_engine(spark: SparkSession, tmp_path: Path) -> SparkEngine:
    """A path-mode Spark engine over a fresh root."""
    root = tmp_path / "delta"
    root.mkdir()
    return SparkEngine(spark=spark, root=str(root))

"""Finding or creating the SparkSession, and importing delta-spark, lazily.

Nothing is imported or created at import time; a missing pyspark or delta-spark is a
ConfigError that says what to install.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataloader_sdk.errors import ConfigError

if TYPE_CHECKING:
    from delta.tables import DeltaTable
    from pyspark.sql import SparkSession

__all__ = ["default_session", "delta_table_class"]


def delta_table_class() -> type[DeltaTable]:
    try:
        from delta.tables import DeltaTable
    except ImportError as exc:
        raise ConfigError(
            "engine spark needs delta-spark: pip install 'dataloader-sdk[spark]'"
        ) from exc
    return DeltaTable


def default_session() -> SparkSession:
    """The active session, or a new local one with the Delta extensions."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ConfigError(
            "engine spark needs pyspark and delta-spark: pip install 'dataloader-sdk[spark]'"
        ) from exc
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = (
        SparkSession.builder.appName("dataloader-sdk")
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog",
                "org.apache.spark.sql.delta.catalog.DeltaCatalog")
    )
    try:
        from delta import configure_spark_with_delta_pip
    except ImportError as exc:
        raise ConfigError(
            "engine spark needs delta-spark: pip install 'dataloader-sdk[spark]'"
        ) from exc
    session: SparkSession = configure_spark_with_delta_pip(builder).getOrCreate()
    return session

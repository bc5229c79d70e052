"""Where the Spark engine's tables are, and how to open them.

Path mode: ``root/[catalog/]schema/table``, the delta_rs layout. Catalog mode:
``catalog.schema.table`` in the session catalog / Unity Catalog, each part validated and
backtick-quoted. :class:`SparkTables` is the base of :class:`SparkEngine`: everything
here reads, nothing writes a table.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import pyarrow as pa

from dataloader_sdk.engines.common.drop import drop_local_table
from dataloader_sdk.engines.common.errors import failures_as_destination_errors
from dataloader_sdk.engines.spark.session import default_session, delta_table_class
from dataloader_sdk.engines.spark.settings import SparkSettings
from dataloader_sdk.engines.spark.sql import quote_ident, quote_target
from dataloader_sdk.engines.spark.types import spark_schema_to_arrow
from dataloader_sdk.model import TargetName

if TYPE_CHECKING:
    from delta.tables import DeltaTable
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["SparkTables"]


class SparkTables:
    """The session and the tables of one Spark engine (see the module docstring).

    Args:
        spark: the session to use; default the active session, else a new local one
            with the Delta extensions (created on first use, never at construction).
        settings: root or catalog mode, staging directory and inline limit.
    """

    def __init__(self, spark: SparkSession | None, settings: SparkSettings) -> None:
        self.settings = settings
        self.root = settings.root.rstrip("/")
        self.catalog_mode = settings.catalog_mode
        self.default_catalog = settings.default_catalog
        self._spark = spark
        self._spark_lock = threading.Lock()

    @property
    def spark(self) -> SparkSession:
        """The session, found or created on first use."""
        with self._spark_lock:
            if self._spark is None:
                self._spark = default_session()
            return self._spark

    def location(self, target: TargetName) -> str:
        """The table's path (path mode) or quoted three-part name (catalog mode)."""
        if self.catalog_mode:
            return quote_target(target, self.default_catalog)
        quote_target(target)  # validates the parts, which become directory names
        return "/".join([self.root, *target.parts])

    def table_ref(self, target: TargetName) -> str:
        """The table in Spark SQL: its quoted name, or ``delta.`path``` in path mode."""
        if self.catalog_mode:
            return self.location(target)
        return "delta." + quote_ident(self.location(target))

    def _delta_table(self, target: TargetName) -> DeltaTable:
        DeltaTable = delta_table_class()
        if self.catalog_mode:
            return DeltaTable.forName(self.spark, self.location(target))
        return DeltaTable.forPath(self.spark, self.location(target))

    def schema(self, target: TargetName) -> pa.Schema | None:
        """The table's Arrow schema (as delta_rs reports it), or ``None`` if it is missing."""
        return self._arrow_schema(target)

    def drop(self, target: TargetName) -> bool:
        """``DROP TABLE`` in catalog mode; a local path table's directory otherwise."""
        location = self.location(target)
        if not self.exists(target):
            return False
        if self.catalog_mode:
            self.spark.sql(f"DROP TABLE IF EXISTS {location}")
            return True
        return drop_local_table(target, location)

    def exists(self, target: TargetName) -> bool:
        """Whether the target is an existing Delta table."""
        location = self.location(target)
        spark = self.spark  # a missing pyspark is a ConfigError, raised here
        with failures_as_destination_errors(
            f"table {target}: cannot check whether {location} exists",
            "Check the root/catalog is reachable from Spark.",
        ):
            if self.catalog_mode:
                return bool(spark.catalog.tableExists(location))
            return bool(delta_table_class().isDeltaTable(spark, location))

    def _frame(self, target: TargetName) -> DataFrame:
        if self.catalog_mode:
            return self.spark.table(self.location(target))
        return self.spark.read.format("delta").load(self.location(target))

    def _arrow_schema(self, target: TargetName) -> pa.Schema | None:
        if not self.exists(target):
            return None
        return spark_schema_to_arrow(self._frame(target).schema)

    def _version(self, target: TargetName) -> int | None:
        if not self.exists(target):
            return None
        row = self._delta_table(target).history(1).select("version").first()
        return int(row[0]) if row is not None else None

    def _ensure_schema(self, target: TargetName) -> None:
        """``CREATE SCHEMA IF NOT EXISTS`` for a catalog table's schema (catalog mode)."""
        if not self.catalog_mode:
            return
        parts = list(target.parts[:-1])
        if target.catalog is None and self.default_catalog:
            parts.insert(0, self.default_catalog)
        self.spark.sql(
            "CREATE SCHEMA IF NOT EXISTS " + ".".join(quote_ident(p) for p in parts)
        )

"""The Spark engine: Delta tables through pyspark + delta-spark (locally or on Databricks).

Same contract and same logical results as :mod:`dataloader_sdk.engines.delta_rs` — the
same rows and the same column types for every write mode — so either engine can continue
a table the other wrote. See docs/databricks.md.

Targets:
    * path mode (default): ``root/[catalog/]schema/table``, the delta_rs layout;
    * catalog mode (``EngineSettings(root="uc:")`` or ``"uc:<default catalog>"``):
      ``catalog.schema.table`` names in the session catalog / Unity Catalog, each part
      validated and backtick-quoted.

Every write is one Delta commit carrying the step's app transaction and metadata
(``commands``). Before writing, the engine reads the app id's recorded version from the
table's snapshot (``history``), so a replay consumes nothing and is reported as
``replayed=True``; a replay that only Delta notices (no new commit) is reported the same
way.

Modules: ``engine`` (the engine and its factory), ``settings`` (typed engine settings),
``tables`` (session, names, existence), ``commands`` (one commit per write mode),
``history`` (app transactions and commit metadata read back), ``jdbc`` (the ``jdbc``
read path: partitioned reads of SQL the connector rendered), ``frames`` (Arrow steps
into Spark), ``merge``, ``sql``, ``types``, ``errors``, ``session`` and ``maintenance``.

pyspark is imported only inside functions: importing this package without pyspark works,
and using the engine then raises a ConfigError saying what to install.
"""

from __future__ import annotations

from dataloader_sdk.engines.spark.engine import SparkEngine, SparkEngineFactory
from dataloader_sdk.engines.spark.settings import CATALOG_ROOT_PREFIX, SparkSettings

__all__ = [
    "CATALOG_ROOT_PREFIX",
    "SparkEngine",
    "SparkEngineFactory",
    "SparkSettings",
]

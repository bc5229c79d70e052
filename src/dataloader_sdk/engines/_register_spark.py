"""Registers the Spark engine (entry point ``builtin_spark_engine``).

The registration is a lazy ``"module:attr"`` string, so listing engines imports neither
pyspark nor delta-spark; they are needed only when a load uses ``engine="spark"``.
"""

from __future__ import annotations

from dataloader_sdk.engines.base import EngineFactory
from dataloader_sdk.plugins import Registry, hookimpl


@hookimpl
def dataloader_register_engines(registry: Registry[EngineFactory]) -> None:
    """The ``spark`` engine (pyspark + delta-spark), imported on first use."""
    registry.add("spark", "dataloader_sdk.engines.spark:SparkEngineFactory")

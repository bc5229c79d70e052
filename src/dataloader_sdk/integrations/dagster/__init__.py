"""Dagster shim for dataloader-sdk (extra ``dagster``): five sensors, two assets.

::

    from dataloader_sdk.integrations.dagster import build_definitions

    defs = build_definitions("/path/to/home", sensor_interval_seconds=30)

Everything here is a thin call into :mod:`dataloader_sdk.orchestration`; see
docs/dagster.md. ``build_definitions(..., executor="databricks")`` runs each load as a
Databricks job through Dagster Pipes (extra ``databricks``; docs/databricks.md).
Importing :mod:`dataloader_sdk` never imports this package or Dagster.
"""

from __future__ import annotations

from dataloader_sdk.integrations.dagster.assets import (
    QUEUE_TOKEN_TAG,
    RESOURCE_KEY,
    RETRY_ANALYSIS_KEY,
    dataloader_retry_analysis,
    dataloader_table_load,
)
from dataloader_sdk.integrations.dagster.component import DataLoaderComponent
from dataloader_sdk.integrations.dagster.databricks import (
    DatabricksLauncher,
    DatabricksSettings,
    build_submit_task,
)
from dataloader_sdk.integrations.dagster.factory import LOAD_JOB, RETRY_JOB, build_definitions
from dataloader_sdk.integrations.dagster.pipes_assets import (
    PipesLauncher,
    SubprocessLauncher,
    dataloader_table_pipes_load,
)
from dataloader_sdk.integrations.dagster.resource import DataLoaderResource
from dataloader_sdk.integrations.dagster.sensors import SensorOptions, build_sensors
from dataloader_sdk.integrations.dagster.translator import (
    DataLoaderTranslator,
    check_unique_keys,
    pool_name,
)

__all__ = [
    "LOAD_JOB",
    "QUEUE_TOKEN_TAG",
    "RESOURCE_KEY",
    "RETRY_ANALYSIS_KEY",
    "RETRY_JOB",
    "DataLoaderComponent",
    "DataLoaderResource",
    "DataLoaderTranslator",
    "DatabricksLauncher",
    "DatabricksSettings",
    "PipesLauncher",
    "SensorOptions",
    "SubprocessLauncher",
    "build_definitions",
    "build_sensors",
    "build_submit_task",
    "check_unique_keys",
    "dataloader_retry_analysis",
    "dataloader_table_load",
    "dataloader_table_pipes_load",
    "pool_name",
]

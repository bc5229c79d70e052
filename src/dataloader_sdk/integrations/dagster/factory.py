"""``build_definitions``: the whole Dagster code location over one dataloader home."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import dagster as dg

from dataloader_sdk import TableRecord
from dataloader_sdk.integrations.dagster.assets import (
    RESOURCE_KEY,
    RETRY_ANALYSIS_KEY,
    dataloader_retry_analysis,
    dataloader_table_load,
)
from dataloader_sdk.integrations.dagster.databricks import DatabricksLauncher, DatabricksSettings
from dataloader_sdk.integrations.dagster.pipes_assets import (
    PipesLauncher,
    dataloader_table_pipes_load,
)
from dataloader_sdk.integrations.dagster.resource import DataLoaderResource
from dataloader_sdk.integrations.dagster.sensors import SensorOptions, build_sensors
from dataloader_sdk.integrations.dagster.translator import (
    DataLoaderTranslator,
    check_unique_keys,
)

__all__ = ["LOAD_JOB", "RETRY_JOB", "build_definitions"]

LOAD_JOB = "dataloader_table_load_job"
RETRY_JOB = "dataloader_retry_analysis_job"


def build_definitions(
    home: str | Path | None = None,
    *,
    environment: str | None = None,
    translator: DataLoaderTranslator | None = None,
    sensor_interval_seconds: int = 30,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
    resource: DataLoaderResource | None = None,
    sensor_options: SensorOptions | None = None,
    executor: Literal["in_process", "databricks"] = "in_process",
    databricks: DatabricksSettings | None = None,
    launcher: PipesLauncher | None = None,
) -> dg.Definitions:
    """Assets, jobs, sensors and the resource for every table of a dataloader home.

    The tables are read from the control DB when the code location loads; reload the code
    location after adding or removing tables (the master sensor logs tables it has no
    asset for).

    Args:
        home: The project directory; ``None`` reads ``DATALOADER_HOME``, then the working
            directory.
        environment: ``dataloader`` or ``dataloader_test``; ``None`` keeps the settings'.
        translator: Maps tables to asset specs (subclass :class:`DataLoaderTranslator`).
        sensor_interval_seconds: Minimum interval between two ticks of each sensor.
        default_status: ``RUNNING`` starts the sensors as soon as the location loads.
        resource: A configured :class:`DataLoaderResource` (then ``home`` and
            ``environment`` must be ``None``).
        sensor_options: Every sensor knob; overrides the two arguments above.
        executor: Where ``dataloader_table_load`` runs a load: ``in_process`` (the run
            worker) or ``databricks`` (``dataloader_pipe`` as a one-time Databricks run per
            table, through Dagster Pipes; see docs/databricks.md).
        databricks: The Databricks settings (``executor="databricks"``).
        launcher: A ready launcher instead of one built from ``databricks`` (e.g. a
            :class:`DatabricksLauncher` with its own workspace client).

    Raises:
        ConfigError: two tables map to one asset key, or a source cannot be a group name.
        ValueError: ``resource`` given together with ``home`` or ``environment``, or
            ``executor="databricks"`` without ``databricks`` or ``launcher``.
    """
    if resource is not None and (home is not None or environment is not None):
        raise ValueError("build_definitions: pass either resource or home/environment, not both")
    resource = resource or DataLoaderResource(
        home=str(home) if home is not None else None, environment=environment)
    options = sensor_options or SensorOptions(
        interval_seconds=sensor_interval_seconds, default_status=default_status)
    translator = translator or DataLoaderTranslator()
    with resource.open_store() as store:
        tables = store.list_tables()
    specs = [translator.get_asset_spec(t) for t in tables]
    check_unique_keys(tables, specs)
    table_assets = _table_assets(tables, translator, resource, executor, databricks, launcher)
    keys = {t.name: spec.key for t, spec in zip(tables, specs, strict=True)}
    # One asset per run: a second process per step would only cost start-up time.
    load_job = dg.define_asset_job(
        LOAD_JOB, selection=dg.AssetSelection.assets(*keys.values()),
        executor_def=dg.in_process_executor,
    ) if keys else None
    retry_job = dg.define_asset_job(
        RETRY_JOB, selection=dg.AssetSelection.assets(RETRY_ANALYSIS_KEY),
        executor_def=dg.in_process_executor,
    )
    return dg.Definitions(
        assets=[*table_assets, dataloader_retry_analysis()],
        jobs=[j for j in (load_job, retry_job) if j is not None],
        sensors=build_sensors(keys, load_job, retry_job, options),
        resources={RESOURCE_KEY: resource},
    )


def _table_assets(
    tables: Sequence[TableRecord], translator: DataLoaderTranslator,
    resource: DataLoaderResource, executor: str, databricks: DatabricksSettings | None,
    launcher: PipesLauncher | None,
) -> list[dg.AssetsDefinition]:
    if executor == "in_process":
        if databricks is not None or launcher is not None:
            raise ValueError("build_definitions: databricks/launcher need executor='databricks'")
        return [dataloader_table_load(t, translator) for t in tables]
    if executor != "databricks":
        raise ValueError(f"build_definitions: executor must be 'in_process' or 'databricks', "
                         f"got {executor!r}")
    if launcher is None:
        if databricks is None:
            raise ValueError("build_definitions: executor='databricks' needs databricks="
                             "DatabricksSettings(...) (or a launcher)")
        launcher = DatabricksLauncher(databricks, resource.settings())
    return [dataloader_table_pipes_load(t, launcher, translator) for t in tables]

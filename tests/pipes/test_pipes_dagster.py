"""End to end: ``dagster.materialize`` launches ``dataloader_pipe`` with ``PipesSubprocessClient``.

The asset is the remote-execution ``dataloader_table_load`` (the one the Databricks
executor uses) with a subprocess launcher; the pipe loads from the test PostgreSQL into
Delta, reports back through Pipes, and the control DB is read directly to check it.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pytest

from dataloader_sdk.integrations.dagster import (
    QUEUE_TOKEN_TAG,
    DataLoaderResource,
    dataloader_table_load,
)
from dataloader_sdk.integrations.dagster.pipes_assets import (
    SubprocessLauncher,
    dataloader_table_pipes_load,
)
from tests.dagster.project import delta_table
from tests.pipes.conftest import DAGSTER_PIPES_PREVIEW, RETRY_PIPE, ROWS, PipesProject

pytestmark = [pytest.mark.dagster, pytest.mark.integration, pytest.mark.postgres,
              # Dagster 1.13's own Pipes session calls a preview API of itself.
              pytest.mark.filterwarnings(DAGSTER_PIPES_PREVIEW)]


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        yield inst


def _pipes_asset(project: PipesProject, name: str,
                 **settings: str) -> dg.AssetsDefinition:
    table = project.loader.store.get_table(name)
    return dataloader_table_pipes_load(
        table, SubprocessLauncher({"home": str(project.home), **settings}))


def _materialize(project: PipesProject, instance: dg.DagsterInstance,
                 asset: dg.AssetsDefinition, **kwargs: Any) -> dg.ExecuteInProcessResult:
    return dg.materialize([asset], instance=instance, raise_on_error=False,
                          resources={"dataloader": DataLoaderResource(home=str(project.home))},
                          **kwargs)


def _metadata(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    (event,) = result.get_asset_materialization_events()
    mat = event.step_materialization_data.materialization
    return {k: v.value for k, v in mat.metadata.items()}


def test_pipe_loads_with_delta_rs_and_reports_the_in_process_metadata(
    pipes_project: PipesProject, instance: dg.DagsterInstance,
) -> None:
    result = _materialize(pipes_project, instance, _pipes_asset(pipes_project, "sales.orders"))
    assert result.success
    meta = _metadata(result)
    assert meta["dagster/row_count"] == ROWS
    assert meta["dagster/table_name"] == "bronze.orders"
    assert meta["dataloader/rows_written"] == ROWS
    assert meta["dataloader/engine"] == "delta_rs"
    columns = [c.name for c in meta["dagster/column_schema"].columns]
    assert {"id", "name", "amount", "_dl_run_id"} <= set(columns)
    # The run history names the Dagster run; Delta holds exactly the source's rows.
    (status, run_id, orch_id, version), = pipes_project.query(
        "SELECT h.status, h.run_id, h.orchestrator_run_id, h.delta_version "
        "FROM dataloader.historical_metadata h")
    assert (status, orch_id) == ("succeeded", result.run_id)
    assert meta["dataloader/run_id"] == run_id and meta["dataloader/delta_version"] == version
    table = delta_table(pipes_project.settings.delta_root, "bronze.orders")
    assert sorted(table.to_pyarrow_table().column("id").to_pylist()) == pipes_project.source_ids()
    # The script's line reached Dagster's log through Pipes.
    logs = [r.user_message for r in instance.all_logs(result.run_id)]
    assert any(m.startswith("dataloader_pipe: sales.orders succeeded") for m in logs), logs

    # The in-process asset reports the same keys with the same kinds of values.
    local = _materialize(pipes_project, instance,
                         dataloader_table_load(pipes_project.loader.store.get_table("sales.orders")))
    local_meta = _metadata(local)
    assert set(local_meta) == set(meta)
    for key in meta:
        assert type(local_meta[key]) is type(meta[key]), key


def test_stale_queue_token_is_a_skip_not_a_materialization(
    pipes_project: PipesProject, instance: dg.DagsterInstance,
) -> None:
    result = _materialize(pipes_project, instance, _pipes_asset(pipes_project, "sales.orders"),
                          tags={QUEUE_TOKEN_TAG: "stale-token-0000"})
    assert result.success
    assert result.get_asset_materialization_events() == []
    (obs,) = [e for e in result.all_events if e.event_type_value == "ASSET_OBSERVATION"]
    metadata = obs.asset_observation_data.asset_observation.metadata
    assert metadata["dataloader/skipped"].value is True
    assert "not run" in metadata["dataloader/reason"].value
    assert pipes_project.control_status("sales.orders") == ("idle", None)


def test_failed_load_fails_the_asset_and_retry_pipe_requeues_it(
    pipes_project: PipesProject, instance: dg.DagsterInstance,
) -> None:
    result = _materialize(pipes_project, instance, _pipes_asset(pipes_project, "sales.broken"))
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    error = failure.step_failure_data.user_failure_data
    assert error is not None
    assert error.metadata["dataloader/error_class"].value == "SourceTransientError"
    assert error.metadata["dataloader/retryable"].value is True
    assert "pg_down" in (error.description or "")
    assert pipes_project.control_status("sales.broken") == ("failed", "SourceTransientError")
    (orch_id,), = pipes_project.query(
        "SELECT orchestrator_run_id FROM dataloader.historical_metadata")
    assert orch_id == result.run_id
    # The SDK's own log record was forwarded through Pipes, and so was the closing error.
    logs = [r.user_message for r in instance.all_logs(result.run_id)]
    assert any(m.startswith("table sales.broken failed: SourceTransientError") for m in logs)
    assert any("closed with exception" in m for m in logs)

    @dg.asset(name="retry_analysis")
    def retry(context) -> dg.MaterializeResult[Any]:  # type: ignore[no-untyped-def]
        command = [sys.executable, "-m", RETRY_PIPE, "--base-seconds", "0"]
        return dg.PipesSubprocessClient().run(
            command=command, context=context.op_execution_context,
            extras={"home": str(pipes_project.home)}).get_materialize_result()

    retried = dg.materialize([retry], instance=instance)
    assert retried.success
    meta = _metadata(retried)
    assert meta["dataloader/requeue"] == 1
    (decision,) = meta["dataloader/decisions"]
    assert (decision["name"], decision["action"]) == ("sales.broken", "requeue")
    assert pipes_project.control_status("sales.broken")[0] == "queued"


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("java") is None, reason="the Spark engine needs Java 17 "
                    "(java not on PATH)")
def test_pipe_loads_with_the_spark_engine(
    pipes_project: PipesProject, instance: dg.DagsterInstance,
) -> None:
    # The subprocess starts its own local Spark (its own JVM): the one slow run here.
    result = _materialize(pipes_project, instance,
                          _pipes_asset(pipes_project, "sales.orders", engine="spark"))
    assert result.success
    meta = _metadata(result)
    assert meta["dataloader/engine"] == "spark"
    assert meta["dagster/row_count"] == ROWS == meta["dataloader/rows_written"]
    table = delta_table(pipes_project.settings.delta_root, "bronze.orders")
    assert sorted(table.to_pyarrow_table().column("id").to_pylist()) == pipes_project.source_ids()
    assert pipes_project.control_status("sales.orders") == ("succeeded", None)

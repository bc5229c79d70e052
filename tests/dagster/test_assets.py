"""The table-load and retry-analysis assets, run with ``dagster.materialize``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dagster as dg
import pytest

from dataloader_sdk import orchestration as orch
from dataloader_sdk.integrations.dagster import (
    QUEUE_TOKEN_TAG,
    DataLoaderResource,
    build_definitions,
)
from dataloader_sdk.model import utcnow
from tests.dagster.conftest import Project
from tests.dagster.project import add_table, delta_table, source_ids

pytestmark = pytest.mark.dagster


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        yield inst


def _materialize(project: Project, instance: dg.DagsterInstance, name: str,
                 tags: dict[str, str] | None = None,
                 raise_on_error: bool = True) -> dg.ExecuteInProcessResult:
    defs = build_definitions(project.home)
    key = _key(defs, name)
    assets = [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)
              and key in a.keys]
    return dg.materialize(assets, instance=instance, tags=tags,
                          resources={"dataloader": DataLoaderResource(home=str(project.home))},
                          raise_on_error=raise_on_error)


def _key(defs: dg.Definitions, name: str) -> dg.AssetKey:
    for spec in defs.resolve_all_asset_specs():
        if spec.metadata.get("dataloader/table") == name:
            return spec.key
    raise AssertionError(f"no asset for {name}")


def _metadata(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    (event,) = result.get_asset_materialization_events()
    mat = event.step_materialization_data.materialization
    return {k: v.value for k, v in mat.metadata.items()}


def test_load_materializes_with_table_metadata(project: Project,
                                               instance: dg.DagsterInstance) -> None:
    result = _materialize(project, instance, "sales.orders")
    assert result.success
    meta = _metadata(result)
    assert meta["dagster/row_count"] == 30
    assert meta["dagster/table_name"] == "bronze.orders"
    assert meta["dataloader/strategy"] == "full"
    assert meta["dataloader/rows_written"] == 30
    assert meta["dataloader/status"] == "succeeded"
    assert meta["dataloader/duration_seconds"] >= 0
    assert "dataloader/watermark_before" in meta and "dataloader/watermark_after" in meta
    # The run id Dagster gave is recorded in the control DB's run history.
    (run,) = project.loader.store.runs("sales.orders")
    assert run.orchestrator_run_id == result.run_id
    assert meta["dataloader/run_id"] == run.run_id
    table = delta_table(project.settings.delta_root, "bronze.orders")
    assert meta["dataloader/delta_version"] == table.version() == run.delta_version
    columns = [c.name for c in meta["dagster/column_schema"].columns]
    assert {"id", "_dl_run_id", "_dl_loaded_at", "_dl_source"} <= set(columns)
    data = table.to_pyarrow_table()
    assert sorted(data.column("id").to_pylist()) == source_ids(project.source_db, "orders")


def test_unchanged_check_and_load_is_skipped_not_materialized(
    project: Project, instance: dg.DagsterInstance
) -> None:
    add_table(project.loader, "sales.items_check", "src_a", "items", "bronze.items_check",
              strategy="check_and_load", options={})
    first = _materialize(project, instance, "sales.items_check")
    assert len(first.get_asset_materialization_events()) == 1
    second = _materialize(project, instance, "sales.items_check")
    assert second.success
    assert second.get_asset_materialization_events() == []
    (obs,) = [e for e in second.all_events if e.event_type == dg.DagsterEventType.ASSET_OBSERVATION]
    meta = obs.asset_observation_data.asset_observation.metadata
    assert meta["dataloader/skipped"].value is True
    assert meta["dataloader/status"].value == "skipped"
    assert project.loader.store.runs("sales.items_check")[0].status == "skipped"


def test_permanent_error_fails_without_dagster_retry(project: Project,
                                                     instance: dg.DagsterInstance) -> None:
    add_table(project.loader, "sales.gone", "src_a", "no_such_table", "bronze.gone")
    result = _materialize(project, instance, "sales.gone", raise_on_error=False)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    data = failure.step_failure_data
    assert data.user_failure_data is not None
    assert "sales.gone" in (data.user_failure_data.description or "")
    assert data.user_failure_data.metadata["dataloader/error_class"].value == "SourcePermanentError"
    assert data.user_failure_data.metadata["dataloader/retryable"].value is False
    assert not [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    assert project.loader.store.get_table("sales.gone").status == "needs_attention"


def test_queue_token_is_used_and_a_stale_one_is_a_skip(project: Project,
                                                      instance: dg.DagsterInstance) -> None:
    queued = {q.name: q for q in orch.enqueue_due(project.loader.store, now=utcnow())}
    token = queued["sales.items"].queue_token
    ok = _materialize(project, instance, "sales.items", tags={QUEUE_TOKEN_TAG: token})
    assert len(ok.get_asset_materialization_events()) == 1
    # The same launch again (Dagster re-execution): the token is spent, nothing runs.
    again = _materialize(project, instance, "sales.items", tags={QUEUE_TOKEN_TAG: token})
    assert again.success
    assert again.get_asset_materialization_events() == []
    assert len(project.loader.store.runs("sales.items")) == 1


def test_retry_analysis_asset_reports_decisions(project: Project,
                                                instance: dg.DagsterInstance) -> None:
    store = project.loader.store
    store.set_status("sales.orders", "queued", actor="test", reason="test")
    store.set_status("sales.orders", "failed", actor="test", reason="made to fail by the test")
    defs = build_definitions(project.home)
    retry = [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)
             and dg.AssetKey(["dataloader", "retry_analysis"]) in a.keys]
    result = dg.materialize(
        retry, instance=instance,
        resources={"dataloader": DataLoaderResource(home=str(project.home),
                                                    retry_base_seconds=0)})
    meta = _metadata(result)
    decisions = {d["name"]: d["action"] for d in meta["dataloader/decisions"]}
    assert decisions == {"sales.orders": "requeue"}
    assert meta["dataloader/requeue"] == 1
    assert store.get_table("sales.orders").status == "queued"

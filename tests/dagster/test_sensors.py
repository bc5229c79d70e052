"""The five sensors, evaluated through ``build_sensor_context`` on a test instance."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import dagster as dg
import pytest

from dataloader_sdk import orchestration as orch
from dataloader_sdk.integrations.dagster import (
    QUEUE_TOKEN_TAG,
    RETRY_ANALYSIS_KEY,
    DataLoaderResource,
    SensorOptions,
    build_definitions,
)
from dataloader_sdk.model import utcnow
from tests.dagster.conftest import Project
from tests.dagster.project import add_table

pytestmark = pytest.mark.dagster


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        yield inst


def _tick(project: Project, instance: dg.DagsterInstance, sensor: str,
          cursor: str | None = None, **options: Any) -> Any:
    resource = DataLoaderResource(home=str(project.home))
    defs = build_definitions(resource=resource, sensor_options=SensorOptions(**options))
    context = dg.build_sensor_context(instance=instance, cursor=cursor,
                                      resources={"dataloader": resource})
    return defs.resolve_sensor_def(sensor)(context)


def test_master_sensor_requests_one_run_per_queued_table(project: Project,
                                                         instance: dg.DagsterInstance) -> None:
    result = _tick(project, instance, "dataloader_master_sensor")
    requests = result.run_requests
    assert [r.tags["dataloader/table"] for r in requests] == ["sales.orders", "sales.items"]
    for request in requests:
        name, token = request.tags["dataloader/table"], request.tags[QUEUE_TOKEN_TAG]
        assert request.run_key == f"{name}:{token}"
        assert request.tags["dataloader/source"] == "src_a"
        assert len(request.asset_selection) == 1
    assert requests[0].tags["dataloader/priority"] == "10"
    assert requests[0].asset_selection == [dg.AssetKey(["bronze", "orders"])]
    assert {t.status for t in project.loader.store.list_tables()} == {"queued"}
    # A second tick hands out nothing: both launches were recorded.
    again = _tick(project, instance, "dataloader_master_sensor")
    assert again.run_requests == []
    assert again.skip_reason is not None


def test_master_sensor_work_per_tick_is_bounded(project: Project,
                                                instance: dg.DagsterInstance) -> None:
    first = _tick(project, instance, "dataloader_master_sensor", max_runs_per_tick=1)
    second = _tick(project, instance, "dataloader_master_sensor", max_runs_per_tick=1)
    keys = [r.run_key for r in [*first.run_requests, *second.run_requests]]
    assert [k.split(":")[0] for k in keys] == ["sales.orders", "sales.items"]


def test_a_requeued_table_gets_a_new_run_key(project: Project,
                                             instance: dg.DagsterInstance) -> None:
    first = {r.tags["dataloader/table"]: r.run_key
             for r in _tick(project, instance, "dataloader_master_sensor").run_requests}
    store = project.loader.store
    store.set_status("sales.items", "failed", actor="test", reason="its run was lost")
    (decision,) = orch.analyse_retries(store, now=utcnow(), backoff=orch.Backoff(base_seconds=0))
    assert decision.action == "requeue"
    second = _tick(project, instance, "dataloader_master_sensor").run_requests
    assert [r.tags["dataloader/table"] for r in second] == ["sales.items"]
    # Dagster de-duplicates run keys forever: the retry must not reuse the first key.
    assert second[0].run_key != first["sales.items"]


def test_longrunning_monitor_fails_an_expired_lease(project: Project,
                                                    instance: dg.DagsterInstance) -> None:
    store = project.loader.store
    store.claim("sales.orders", owner="ghost:1:1", lease_seconds=1,
                now=utcnow() - timedelta(minutes=5))
    result = _tick(project, instance, "dataloader_longrunning_monitor")
    assert "sales.orders" in str(result)
    assert store.get_table("sales.orders").status == "failed"
    assert store.runs("sales.orders")[0].error_class == orch.STALLED
    assert "no long-running" in str(_tick(project, instance, "dataloader_longrunning_monitor"))


def test_longqueued_monitor_fails_a_lost_launch(project: Project,
                                                instance: dg.DagsterInstance) -> None:
    orch.enqueue_due(project.loader.store, now=utcnow() - timedelta(hours=2))
    result = _tick(project, instance, "dataloader_longqueued_monitor", long_queued_seconds=3600)
    assert "2 long-queued" in str(result)
    assert {t.status for t in project.loader.store.list_tables()} == {"failed"}


def test_failed_monitor_launches_the_retry_analysis_once_per_change(
    project: Project, instance: dg.DagsterInstance
) -> None:
    assert _tick(project, instance, "dataloader_failed_monitor").run_requests == []
    store = project.loader.store
    store.set_status("sales.orders", "queued", actor="test", reason="test")
    store.set_status("sales.orders", "failed", actor="test", reason="test")
    result = _tick(project, instance, "dataloader_failed_monitor")
    (request,) = result.run_requests
    assert request.asset_selection == [RETRY_ANALYSIS_KEY]
    # Same failed set, within the recheck interval: not launched again.
    again = _tick(project, instance, "dataloader_failed_monitor", cursor=result.cursor)
    assert again.run_requests == []
    later = _tick(project, instance, "dataloader_failed_monitor", cursor=result.cursor,
                  retry_recheck_seconds=0)
    assert len(later.run_requests) == 1


def test_landing_monitor_reports_late_targets_as_observations(
    project: Project, instance: dg.DagsterInstance
) -> None:
    add_table(project.loader, "sales.late", "src_a", "items", "bronze.late",
              freshness_sla_seconds=1)
    project.loader.load_table("sales.items")
    deadline = time.monotonic() + 60
    while True:  # sales.late is "pending" for its first second, then "missing"
        result = _tick(project, instance, "dataloader_landing_table_monitor")
        if result.asset_events or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert "1 of 3" in result.skip_reason.skip_message
    (event,) = result.asset_events
    assert isinstance(event, dg.AssetObservation)
    assert event.asset_key == dg.AssetKey(["bronze", "late"])
    assert event.metadata["dataloader/freshness"].value == "missing"
    late = event.metadata["dataloader/late_seconds"].value
    assert isinstance(late, float) and late > 0

"""The five sensors, each a thin call into :mod:`dataloader_sdk.orchestration`.

* ``dataloader_master_sensor`` — :func:`~dataloader_sdk.orchestration.enqueue_due`, then
  one ``RunRequest`` per queued table whose ``run_key`` is ``table:queue_token`` (Dagster
  remembers run keys forever; the token changes on every enqueue, so a retry is never
  swallowed), with the table, source, priority and token as run tags. At most
  ``max_runs_per_tick`` tables per tick, far below Dagster's 60 s evaluation limit.
* ``dataloader_longqueued_monitor`` / ``dataloader_longrunning_monitor`` —
  :func:`~dataloader_sdk.orchestration.find_long_queued` /
  :func:`~dataloader_sdk.orchestration.find_long_running`: stuck tables go to ``failed``
  (error class ``stalled``) and are logged.
* ``dataloader_failed_monitor`` — :func:`~dataloader_sdk.orchestration.find_failed`; when
  tables are failed it launches the ``dataloader_retry_analysis`` asset (once per change
  of the failed set, and again every ``retry_recheck_seconds`` while tables wait out a
  back-off), never while one is already queued or running.
* ``dataloader_landing_table_monitor`` —
  :func:`~dataloader_sdk.orchestration.check_landing_tables`: stale or missing targets are
  reported as ``AssetObservation``\\ s on their assets and logged.
"""

# No ``from __future__ import annotations``: Dagster reads the context and resource
# parameter annotations at definition time and needs real types.
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import dagster as dg

from dataloader_sdk import orchestration as orch
from dataloader_sdk.integrations.dagster.assets import RETRY_ANALYSIS_KEY, table_tags
from dataloader_sdk.integrations.dagster.resource import DataLoaderResource
from dataloader_sdk.model import utcnow

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )

__all__ = ["SensorOptions", "build_sensors"]

_KIND_TAG = "dataloader/kind"
_ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


@dataclass(frozen=True)
class SensorOptions:
    """How often the sensors tick and how much work one tick may do.

    Attributes:
        interval_seconds: Minimum interval between two ticks of each sensor.
        default_status: Whether the sensors run as soon as the code location loads.
        max_runs_per_tick: Bound on the tables one tick launches (master sensor) or
            fails (stuck-table monitors); the rest wait for the next tick.
        long_queued_seconds: A table queued longer than this is stuck.
        retry_recheck_seconds: While tables stay failed (waiting out a back-off), the
            failed monitor launches the retry analysis again after this long.
    """

    interval_seconds: int = 30
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED
    max_runs_per_tick: int = 200
    long_queued_seconds: int = 3600
    retry_recheck_seconds: int = 60


def build_sensors(
    keys: Mapping[str, dg.AssetKey],
    load_job: "UnresolvedAssetJobDefinition | None",
    retry_job: "UnresolvedAssetJobDefinition",
    options: SensorOptions,
) -> list[dg.SensorDefinition]:
    """The five sensors over the tables whose asset keys are ``keys`` (by table name)."""
    common: dict[str, Any] = {
        "minimum_interval_seconds": options.interval_seconds,
        "default_status": options.default_status,
    }
    sensors = [
        _longqueued(options, common),
        _longrunning(options, common),
        _failed(retry_job, options, common),
        _landing(keys, common),
    ]
    if load_job is not None:
        sensors.insert(0, _master(keys, load_job, options, common))
    return sensors


def _master(
    keys: Mapping[str, dg.AssetKey], job: "UnresolvedAssetJobDefinition",
    options: SensorOptions, common: dict[str, Any],
) -> dg.SensorDefinition:
    @dg.sensor(name="dataloader_master_sensor", job=job, **common,
               description="Enqueues due tables and launches one run per queued table.")
    def dataloader_master_sensor(
        context: dg.SensorEvaluationContext, dataloader: DataLoaderResource
    ) -> dg.SensorResult:
        now = utcnow()
        with dataloader.open_store() as store:
            queued = orch.enqueue_due(store, now=now, limit=options.max_runs_per_tick)
            launch = [q for q in queued if q.name in keys]
            for q in queued:
                if q.name not in keys:
                    context.log.warning(
                        "table %r is queued but has no asset in this code location; "
                        "reload the code location to pick up new tables", q.name)
            # Marked before Dagster submits the runs (a sensor cannot act after it
            # returns): if the submission is lost, the long-queued monitor fails the table
            # and the retry analysis requeues it with a new token.
            orch.mark_many_launched(store, launch, now=now)
        requests = [
            dg.RunRequest(run_key=q.run_key, asset_selection=[keys[q.name]], tags=table_tags(q))
            for q in launch
        ]
        if not requests:
            return dg.SensorResult(skip_reason=dg.SkipReason("no table is due"))
        context.log.info("launching %d table run(s): %s", len(requests),
                         ", ".join(q.name for q in launch))
        return dg.SensorResult(run_requests=requests)

    return dataloader_master_sensor


def _stuck_result(context: dg.SensorEvaluationContext, stuck: list[orch.StuckTable],
                  what: str) -> dg.SkipReason:
    for table in stuck:
        context.log.warning("%s: %s", table.name, table.reason)
    if not stuck:
        return dg.SkipReason(f"no {what} table")
    # The monitors change control state only; the failed monitor launches the retries.
    return dg.SkipReason(f"{len(stuck)} {what} table(s) moved to failed: "
                         + ", ".join(t.name for t in stuck))


def _longqueued(options: SensorOptions, common: dict[str, Any]) -> dg.SensorDefinition:
    @dg.sensor(name="dataloader_longqueued_monitor", **common,
               description="Moves tables queued for too long to failed (stalled).")
    def dataloader_longqueued_monitor(
        context: dg.SensorEvaluationContext, dataloader: DataLoaderResource
    ) -> dg.SkipReason:
        with dataloader.open_store() as store:
            stuck = orch.find_long_queued(
                store, now=utcnow(), older_than=timedelta(seconds=options.long_queued_seconds),
                limit=options.max_runs_per_tick)
        return _stuck_result(context, stuck, "long-queued")

    return dataloader_longqueued_monitor


def _longrunning(options: SensorOptions, common: dict[str, Any]) -> dg.SensorDefinition:
    @dg.sensor(name="dataloader_longrunning_monitor", **common,
               description="Moves running tables whose lease expired to failed (stalled).")
    def dataloader_longrunning_monitor(
        context: dg.SensorEvaluationContext, dataloader: DataLoaderResource
    ) -> dg.SkipReason:
        with dataloader.open_store() as store:
            stuck = orch.find_long_running(store, now=utcnow(), limit=options.max_runs_per_tick)
        return _stuck_result(context, stuck, "long-running")

    return dataloader_longrunning_monitor


def _failed(job: "UnresolvedAssetJobDefinition", options: SensorOptions,
            common: dict[str, Any]) -> dg.SensorDefinition:
    @dg.sensor(name="dataloader_failed_monitor", job=job, **common,
               description="Launches the retry analysis when tables are failed.")
    def dataloader_failed_monitor(
        context: dg.SensorEvaluationContext, dataloader: DataLoaderResource
    ) -> dg.SensorResult:
        with dataloader.open_store() as store:
            failed = orch.find_failed(store)
        if not failed:
            return dg.SensorResult(skip_reason=dg.SkipReason("no failed table"))
        active = context.instance.get_run_records(
            dg.RunsFilter(tags={_KIND_TAG: "retry_analysis"}, statuses=_ACTIVE), limit=1)
        if active:
            return dg.SensorResult(skip_reason=dg.SkipReason(
                "a retry analysis is already queued or running"))
        now = utcnow().timestamp()
        fingerprint = hashlib.sha256(json.dumps(
            sorted([f.name, f.attempts, f.run_id] for f in failed)).encode()).hexdigest()[:16]
        last = json.loads(context.cursor) if context.cursor else {}
        if (last.get("fingerprint") == fingerprint
                and now - float(last.get("at", 0)) < options.retry_recheck_seconds):
            return dg.SensorResult(skip_reason=dg.SkipReason(
                f"{len(failed)} failed table(s) already analysed; rechecking later"))
        context.log.info("failed tables: %s", ", ".join(f.name for f in failed))
        return dg.SensorResult(
            run_requests=[dg.RunRequest(
                asset_selection=[RETRY_ANALYSIS_KEY],
                tags={_KIND_TAG: "retry_analysis",
                      "dataloader/failed_tables": str(len(failed))},
            )],
            cursor=json.dumps({"fingerprint": fingerprint, "at": now}),
        )

    return dataloader_failed_monitor


def _landing(keys: Mapping[str, dg.AssetKey], common: dict[str, Any]) -> dg.SensorDefinition:
    @dg.sensor(name="dataloader_landing_table_monitor", **common,
               description="Reports Delta targets older than their freshness SLA.")
    def dataloader_landing_table_monitor(
        context: dg.SensorEvaluationContext, dataloader: DataLoaderResource
    ) -> dg.SensorResult:
        with dataloader.open_loader() as loader:
            report = orch.check_landing_tables(loader.store, loader.engine, now=utcnow())
        late = [f for f in report if not f.ok]
        events: list[dg.AssetObservation] = []
        for item in late:
            context.log.warning("%s (%s) is %s: %.0f s past its SLA of %d s", item.name,
                                item.target, item.status, item.late_seconds, item.sla_seconds)
            key = keys.get(item.name)
            if key is not None:
                events.append(dg.AssetObservation(asset_key=key, metadata={
                    "dataloader/freshness": item.status,
                    "dataloader/late_seconds": dg.MetadataValue.float(item.late_seconds),
                    "dataloader/sla_seconds": item.sla_seconds,
                    "dataloader/last_success_at": _iso(item.last_success_at),
                    "dataloader/last_commit_at": _iso(item.last_commit_at),
                }))
        summary = (f"{len(late)} of {len(report)} table(s) stale or missing: "
                   + ", ".join(f.name for f in late)) if late else (
                       f"all {len(report)} table(s) fresh")
        return dg.SensorResult(skip_reason=dg.SkipReason(summary), asset_events=events)

    return dataloader_landing_table_monitor


def _iso(value: object) -> str:
    return "" if value is None else value.isoformat()  # type: ignore[attr-defined]

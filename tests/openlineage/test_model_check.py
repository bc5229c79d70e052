"""The event check itself: it accepts the events real loads send and refuses broken ones.

A checker that accepts everything would let every other OpenLineage test pass, so each
way an event can be malformed is applied to a real, good event and must be refused.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from dataloader_sdk.config import Settings
from dataloader_sdk.errors import DataLoaderError
from dataloader_sdk.integrations.openlineage import enable_openlineage
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.plugins import PluginHost
from tests.openlineage.conftest import make_home
from tests.openlineage.model_check import ModelError, check_run_event

Event = dict[str, Any]


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Event]:
    """The START, COMPLETE and FAIL events of two real loads (file transport)."""
    from openlineage.client import OpenLineageClient
    from openlineage.client.transport.file import FileConfig, FileTransport

    where = tmp_path_factory.mktemp("model")
    home = make_home(where)
    log = where / "lineage.jsonl"
    client = OpenLineageClient(transport=FileTransport(FileConfig(log_file_path=str(log),
                                                                  append=True)))
    loader = DataLoader.from_settings(Settings.load(home=home), host=PluginHost())
    try:
        enable_openlineage(loader, client=client)
        loader.load_table("customers")
        with pytest.raises(DataLoaderError):
            loader.load_table("ghost")
    finally:
        loader.close()
    sent = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert [e["eventType"] for e in sent] == ["START", "COMPLETE", "START", "FAIL"]
    return {"START": sent[0], "COMPLETE": sent[1], "FAIL": sent[3]}


@pytest.mark.parametrize("kind", ["START", "COMPLETE", "FAIL"])
def test_real_events_fit_the_model(events: dict[str, Event], kind: str) -> None:
    from openlineage.client.generated import base

    event = check_run_event(events[kind])
    assert isinstance(event, base.RunEvent)
    assert event.eventType == base.EventType(kind)


def test_facets_become_their_generated_classes(events: dict[str, Event]) -> None:
    from openlineage.client.generated import (
        error_message_run,
        output_statistics_output_dataset,
        processing_engine_run,
        schema_dataset,
    )

    complete = check_run_event(events["COMPLETE"])
    assert complete.outputs is not None and complete.run.facets is not None
    out = complete.outputs[0]
    assert isinstance(out.facets["schema"], schema_dataset.SchemaDatasetFacet)  # type: ignore[index]
    stats = out.outputFacets["outputStatistics"]  # type: ignore[index]
    assert isinstance(stats, output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet)
    assert stats.rowCount == 7
    assert isinstance(complete.run.facets["processing_engine"],
                      processing_engine_run.ProcessingEngineRunFacet)
    fail = check_run_event(events["FAIL"])
    assert isinstance(fail.run.facets["errorMessage"],  # type: ignore[index]
                      error_message_run.ErrorMessageRunFacet)


def _set(path: str, value: Any) -> Callable[[Event], None]:
    """A mutation putting ``value`` at dotted ``path`` (list indexes as numbers)."""
    def apply(event: Event) -> None:
        *parents, last = path.split(".")
        node: Any = event
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[last] = value
    return apply


def _drop(path: str) -> Callable[[Event], None]:
    def apply(event: Event) -> None:
        *parents, last = path.split(".")
        node: Any = event
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        del node[last]
    return apply


def _move_output_stats_to_inputs(event: Event) -> None:
    stats = event["outputs"][0]["outputFacets"]["outputStatistics"]
    event["inputs"][0]["inputFacets"]["outputStatistics"] = stats


def _run_facet_on_a_dataset(event: Event) -> None:
    event["outputs"][0]["facets"]["engine"] = event["run"]["facets"]["processing_engine"]


_SCHEMA = "outputs.0.facets.schema"
MUTATIONS: dict[str, tuple[Callable[[Event], None], str]] = {
    "no run": (_drop("run"), r"event\.run: required"),
    "no job": (_drop("job"), r"event\.job: required"),
    "no eventTime": (_drop("eventTime"), r"eventTime: required"),
    "no eventType": (_drop("eventType"), r"eventType: required"),
    "no producer": (_drop("producer"), r"event\.producer: must be"),
    "no schemaURL": (_drop("schemaURL"), r"event\.schemaURL: must be"),
    "eventType not in the enum": (_set("eventType", "FINISHED"), r"eventType: must be one of"),
    "unknown top-level key": (_set("status", "ok"), r"unknown keys \['status'\]"),
    "unknown key in run": (_set("run.state", "done"), r"unknown keys \['state'\] for Run"),
    "runId not a UUID": (_set("run.runId", "run-42"), r"Run refuses it"),
    "eventTime not a date-time": (_set("eventTime", "yesterday"), r"RunEvent refuses it"),
    "producer not a URI": (_set("producer", "dataloader"), r"absolute URI"),
    "schemaURL of another version": (_set(
        "schemaURL", "https://openlineage.io/spec/1-0-5/OpenLineage.json#/$defs/RunEvent"),
        r"is not RunEvent's schema"),
    "inputs not a list": (_set("inputs", {"namespace": "x", "name": "y"}),
        r"inputs: must be an array"),
    "empty dataset name": (_set("inputs.0.name", ""), r"inputs\[0\]\.name: must be a non-empty"),
    "empty dataset namespace": (_set("outputs.0.namespace", ""),
        r"namespace: must be a non-empty"),
    "empty job name": (_set("job.name", ""), r"job\.name: must be a non-empty"),
    "dataset name not a string": (_set("outputs.0.name", 7),
        r"name: must be a non-empty string, got 7"),
    "facet without _producer": (_drop(f"{_SCHEMA}._producer"), r"schema\._producer"),
    "facet without _schemaURL": (_drop(f"{_SCHEMA}._schemaURL"), r"schema\._schemaURL"),
    "facet schema unknown to the model": (_set(
        f"{_SCHEMA}._schemaURL", "https://example.com/MyFacet.json#/$defs/MyFacet"),
        r"not in the client's model"),
    "facet with an unknown key": (_set(f"{_SCHEMA}.columns", []), r"unknown keys \['columns'\]"),
    "schema fields not a list": (_set(f"{_SCHEMA}.fields", {"id": "int64"}),
        r"fields: must be an array"),
    "schema field without a name": (_drop(f"{_SCHEMA}.fields.0.name"),
        r"fields\[0\]\.name: required"),
    "rowCount a string": (_set("outputs.0.outputFacets.outputStatistics.rowCount", "7"),
        r"rowCount: must be a int"),
    "rowCount a boolean": (_set("outputs.0.outputFacets.outputStatistics.rowCount", True),
        r"rowCount: must be a int"),
    "output facet among input facets": (_move_output_stats_to_inputs,
        r"where a InputDatasetFacet belongs"),
    "run facet placed on a dataset": (_run_facet_on_a_dataset,
        r"ProcessingEngineRunFacet where a DatasetFacet belongs"),
}


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_a_malformed_event_is_refused(events: dict[str, Event], name: str) -> None:
    event = copy.deepcopy(events["COMPLETE"])
    check_run_event(copy.deepcopy(event))  # the unmutated event passes
    mutate, reason = MUTATIONS[name]
    mutate(event)
    with pytest.raises(ModelError, match=reason):
        check_run_event(event)


def test_error_message_needs_its_message(events: dict[str, Event]) -> None:
    event = copy.deepcopy(events["FAIL"])
    del event["run"]["facets"]["errorMessage"]["message"]
    with pytest.raises(ModelError, match=r"errorMessage\.message.*missing"):
        check_run_event(event)


def test_the_check_reads_json_not_objects() -> None:
    with pytest.raises(ModelError, match="must be an object"):
        check_run_event([])

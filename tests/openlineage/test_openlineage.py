"""OpenLineage events of real loads, sent by the real client to a loopback HTTP receiver.

The client is configured the standard way (``OPENLINEAGE_URL``, or the file transport
through ``OPENLINEAGE__TRANSPORT__*``), and every event is checked strictly against the
client's generated object model, facets included (``model_check``: the OpenLineage JSON
Schema files are not available from any registry here).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dataloader_sdk.config import Settings
from dataloader_sdk.errors import DataLoaderError
from dataloader_sdk.integrations.openlineage import enable_openlineage
from dataloader_sdk.integrations.openlineage._naming import input_name, output_name
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.model import SourceConfig, TableConfig, TargetName
from dataloader_sdk.plugins import PluginHost
from tests.openlineage.conftest import wait_for
from tests.openlineage.model_check import check_run_event


def test_http_events_for_a_succeeding_and_a_failing_load(
    home: Path, receiver: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, received = receiver
    monkeypatch.setenv("OPENLINEAGE_URL", url)
    monkeypatch.setenv("OPENLINEAGE_NAMESPACE", "dl-tests")
    settings = Settings.load(home=home)
    loader = DataLoader.from_settings(settings, host=PluginHost())
    try:
        enable_openlineage(loader)
        record = loader.load_table("customers")
        assert record.rows_written == 7
        with pytest.raises(DataLoaderError):
            loader.load_table("ghost")
    finally:
        loader.close()
    requests = wait_for(received, 4)
    assert {r["path"] for r in requests} == {"/api/v1/lineage"}
    events = [r["body"] for r in requests]
    for event in events:
        check_run_event(event)
    assert [(e["job"]["name"], e["eventType"]) for e in events] == [
        ("dataloader.customers", "START"), ("dataloader.customers", "COMPLETE"),
        ("dataloader.ghost", "START"), ("dataloader.ghost", "FAIL"),
    ]
    start, complete, _, fail = events
    assert {e["job"]["namespace"] for e in events} == {"dl-tests"}
    assert start["run"]["runId"] == complete["run"]["runId"] != fail["run"]["runId"]
    assert start["run"]["runId"].replace("-", "") == record.run_id
    [source] = complete["inputs"]
    assert source["namespace"] == f"sqlite://{home.parent / 'source.db'}"
    assert source["name"] == "customers"
    assert source["inputFacets"]["inputStatistics"]["rowCount"] == 7
    [target] = complete["outputs"]
    assert (target["namespace"], target["name"]) == (
        "file", str(home / ".dataloader" / "delta" / "dataloader" / "bronze" / "customers"))
    assert target["outputFacets"]["outputStatistics"]["rowCount"] == 7
    fields = {f["name"]: f["type"] for f in target["facets"]["schema"]["fields"]}
    assert {"id", "name", "_dl_run_id"} <= set(fields)
    assert fields["id"] == "int64"
    assert "errorMessage" not in complete["run"]["facets"]
    error = fail["run"]["facets"]["errorMessage"]
    assert "gone" in error["message"] and error["programmingLanguage"] == "python"
    assert fail["outputs"][0]["name"].endswith("/bronze/ghost")
    assert "outputStatistics" not in fail["outputs"][0].get("outputFacets", {})


def test_file_transport(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "lineage.jsonl"
    monkeypatch.delenv("OPENLINEAGE_URL", raising=False)
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "file")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", str(log))
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__APPEND", "true")
    loader = DataLoader.from_settings(Settings.load(home=home), host=PluginHost())
    try:
        enable_openlineage(loader)
        loader.load_table("customers")
    finally:
        loader.close()
    events = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    for event in events:
        check_run_event(event)


def test_receiver_down_does_not_fail_the_load(
    home: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.delenv("OPENLINEAGE_URL", raising=False)
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "http")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__RETRY", '{"total": 0}')
    loader = DataLoader.from_settings(Settings.load(home=home), host=PluginHost())
    try:
        enable_openlineage(loader)
        assert loader.load_table("customers").status == "succeeded"
    finally:
        loader.close()
    failures = [r for r in caplog.records if r.name == "dataloader_sdk.plugins"
                and "failed while handling" in r.getMessage()]
    assert len(failures) == 2  # START and COMPLETE could not be sent; both were logged


def test_dataset_names_never_carry_credentials() -> None:
    table = TableConfig("orders", "erp", TargetName("bronze", "orders"), source_table="orders",
                        source_schema="sales")
    pg = SourceConfig("erp", "postgresql", host="db.internal", port=5432, database="erp",
                      username="loader", secret="env:ERP_PASSWORD")
    assert input_name(pg, table) == ("postgres://db.internal:5432", "erp.sales.orders")
    mysql = SourceConfig("erp", "sqlalchemy", options={
        "url": "mysql+pymysql://loader@maria:3306/shop"})
    namespace, name = input_name(mysql, table)
    assert (namespace, name) == ("mysql://maria:3306", "shop.sales.orders")
    assert "loader" not in namespace + name
    assert output_name("s3://lake/bronze/orders", table.target) == ("s3://lake", "bronze/orders")
    assert output_name(None, table.target) == ("delta", "bronze.orders")


def test_cancelled_run_ends_with_abort(home: Path, tmp_path: Path) -> None:
    from dataclasses import replace

    from openlineage.client import OpenLineageClient
    from openlineage.client.transport.file import FileConfig, FileTransport

    from dataloader_sdk.events import LoadCancelled, LoadStarted
    from dataloader_sdk.integrations.openlineage import OpenLineageObserver

    log = tmp_path / "abort.jsonl"
    client = OpenLineageClient(transport=FileTransport(FileConfig(log_file_path=str(log),
                                                                  append=True)))
    loader = DataLoader.from_settings(Settings.load(home=home), host=PluginHost())
    try:
        record = loader.load_table("customers")  # a real run record to cancel a copy of
        observer = OpenLineageObserver(loader.store, loader.engine, client=client)
        observer.dataloader_on_event(LoadStarted(record.run_id, "customers", "full"))
        observer.dataloader_on_event(LoadCancelled(replace(record, status="cancelled")))
    finally:
        loader.close()
    events = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert [e["eventType"] for e in events] == ["START", "ABORT"]
    for event in events:
        check_run_event(event)
    assert "outputStatistics" not in events[1]["outputs"][0].get("outputFacets", {})

"""``openlineage = true`` / ``DATALOADER_OPENLINEAGE``: CLI runs send events with no code.

The CLI runs in a subprocess (``python -m dataloader_sdk``), the way an operator runs
it; the OpenLineage client inside it is configured only by its standard environment
variables.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dataloader_sdk.config import Settings
from dataloader_sdk.errors import ConfigError, ValidationError
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.plugins import PluginHost
from tests.openlineage.conftest import wait_for
from tests.openlineage.model_check import check_run_event


def _cli(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``dataloader --home HOME ARGS`` with only ``env`` for DATALOADER_*/OPENLINEAGE*."""
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("DATALOADER_", "OPENLINEAGE"))}
    return subprocess.run(
        [sys.executable, "-m", "dataloader_sdk", "--home", str(home), *args],
        env={**clean, **env}, capture_output=True, text=True, timeout=300, check=False,
    )


def test_env_switch_sends_events_for_cli_runs(
    home: Path, receiver: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = receiver
    env = {"DATALOADER_OPENLINEAGE": "1", "OPENLINEAGE_URL": url}
    ok = _cli(home, "run", "customers", **env)
    assert ok.returncode == 0, ok.stderr
    failed = _cli(home, "run", "ghost", **env)
    assert failed.returncode == 1, failed.stderr
    events = [r["body"] for r in wait_for(received, 4)]
    for event in events:
        check_run_event(event)
    assert [(e["job"]["name"], e["eventType"]) for e in events] == [
        ("dataloader.customers", "START"), ("dataloader.customers", "COMPLETE"),
        ("dataloader.ghost", "START"), ("dataloader.ghost", "FAIL"),
    ]
    assert events[1]["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 7
    assert "gone" in events[3]["run"]["facets"]["errorMessage"]["message"]


def test_file_switch_with_the_file_transport(home: Path, tmp_path: Path) -> None:
    config = home / "dataloader.toml"
    config.write_text(config.read_text(encoding="utf-8") + "openlineage = true\n",
                      encoding="utf-8")
    log = tmp_path / "lineage.jsonl"
    done = _cli(home, "run", "customers", OPENLINEAGE__TRANSPORT__TYPE="file",
                OPENLINEAGE__TRANSPORT__LOG_FILE_PATH=str(log),
                OPENLINEAGE__TRANSPORT__APPEND="true")
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    for event in events:
        check_run_event(event)


@pytest.mark.parametrize("switch", [None, "0"], ids=["unset", "env-off-over-file-on"])
def test_off_sends_nothing(
    home: Path, receiver: tuple[str, list[dict[str, Any]]], switch: str | None
) -> None:
    url, received = receiver
    env = {"OPENLINEAGE_URL": url}
    if switch is not None:  # the file says on, the environment overrides it
        config = home / "dataloader.toml"
        config.write_text(config.read_text(encoding="utf-8") + "openlineage = true\n",
                          encoding="utf-8")
        env["DATALOADER_OPENLINEAGE"] = switch
    done = _cli(home, "run", "customers", **env)
    assert done.returncode == 0, done.stderr
    assert "succeeded" in done.stdout  # the run happened...
    # ...and the client sends synchronously, so once the process has exited nothing more
    # can arrive.
    assert received == []


@pytest.mark.parametrize(("raw", "expected"), [
    ("1", True), ("true", True), ("YES", True), ("on", True),
    ("0", False), ("false", False), ("off", False),
])
def test_env_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raw: str,
                    expected: bool) -> None:
    monkeypatch.setenv("DATALOADER_OPENLINEAGE", raw)
    assert Settings.load(home=tmp_path).openlineage is expected


def test_file_values_and_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATALOADER_OPENLINEAGE", raising=False)
    assert Settings.load(home=tmp_path).openlineage is False
    (tmp_path / "dataloader.toml").write_text("openlineage = true\n", encoding="utf-8")
    settings = Settings.load(home=tmp_path)
    assert settings.openlineage is True
    settings.write()
    assert "openlineage = true" in (tmp_path / "dataloader.toml").read_text(encoding="utf-8")
    assert Settings.load(home=tmp_path).openlineage is True


@pytest.mark.parametrize("line", ['openlineage = "maybe"', "openlineage = 2.5"])
def test_bad_value_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              line: str) -> None:
    monkeypatch.delenv("DATALOADER_OPENLINEAGE", raising=False)
    (tmp_path / "dataloader.toml").write_text(line + "\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"openlineage.*true or false"):
        Settings.load(home=tmp_path)


def test_missing_client_is_one_clear_error_and_opens_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The client is installed here; a None entry in sys.modules makes its import fail
    # exactly as it does where the extra is missing.
    monkeypatch.setitem(sys.modules, "openlineage.client", None)
    monkeypatch.setenv("DATALOADER_OPENLINEAGE", "true")
    settings = Settings.load(home=tmp_path)
    with pytest.raises(ConfigError) as info:
        DataLoader.from_settings(settings, host=PluginHost())
    message = str(info.value)
    assert "\n" not in message
    assert "pip install 'dataloader-sdk[openlineage]'" in message
    assert not (tmp_path / ".dataloader").exists()  # no control DB was created


def test_one_observer_per_project_however_many_loaders(
    home: Path, receiver: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, received = receiver
    monkeypatch.setenv("OPENLINEAGE_URL", url)
    monkeypatch.setenv("DATALOADER_OPENLINEAGE", "1")
    host = PluginHost()
    settings = Settings.load(home=home)
    first = DataLoader.from_settings(settings, host=host)
    first.close()
    second = DataLoader.from_settings(settings, host=host)  # e.g. the UI's next request
    try:
        second.load_table("customers")
    finally:
        second.close()
    # The client sends synchronously: everything sent has arrived when load_table returns.
    events = wait_for(received, 2)
    assert [e["body"]["eventType"] for e in events] == ["START", "COMPLETE"]  # not twice

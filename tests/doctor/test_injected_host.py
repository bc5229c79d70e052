"""A plugin host passed in is the one asked for the control DB's secret: by the doctor and
by ``DataLoader.from_settings`` (issue #12: nothing below the facade uses ``get_host()``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataloader_sdk.config import CONFIG_FILE, Settings
from dataloader_sdk.doctor import run_doctor
from dataloader_sdk.errors import SecretError
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.plugins import PluginHost, hookimpl, reset_host

from .conftest import Doctor


class Vault:
    """A secret resolver only the injected host knows."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    @hookimpl
    def dataloader_resolve_secret(self, reference: str) -> str | None:
        if not reference.startswith("vault:"):
            return None
        self.asked.append(reference)
        return "vault-password"

    @hookimpl
    def dataloader_secret_schemes(self) -> list[str]:
        return ["vault"]


@pytest.fixture
def vault_project(project: Doctor) -> Path:
    config = project.home / CONFIG_FILE
    config.write_text(config.read_text(encoding="utf-8") + 'control_secret = "vault:ctl"\n',
                      encoding="utf-8")
    reset_host()  # the process-wide host knows no vault: scheme
    return project.home


def test_the_doctor_resolves_the_control_secret_with_its_host(vault_project: Path) -> None:
    vault = Vault()
    report = run_doctor(vault_project, host=PluginHost([vault]))
    control = {c.name: c for c in report.results if c.group == "control"}
    assert control["control DB"].status == "ok", control["control DB"].message
    assert vault.asked == ["vault:ctl"]
    # The process-wide host cannot: the doctor says so instead of using it silently.
    fallback = run_doctor(vault_project)
    failed = {c.name: c for c in fallback.results if c.group == "control"}["control DB"]
    assert failed.status == "fail" and "vault" in failed.message


def test_from_settings_resolves_the_control_secret_with_its_host(vault_project: Path) -> None:
    vault = Vault()
    settings = Settings.load(home=vault_project)
    loader = DataLoader.from_settings(settings, host=PluginHost([vault]))
    try:
        assert vault.asked == ["vault:ctl"]
        assert loader.store.get_table("customers").name == "customers"
    finally:
        loader.close()
    with pytest.raises(SecretError, match="vault"):
        settings.open_store()  # the process-wide host has no vault: resolver

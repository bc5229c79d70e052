"""The core never imports Dagster; the shim imports with the ``dagster`` extra."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dataloader_sdk import ConfigError
from dataloader_sdk.integrations.dagster import DataLoaderResource

pytestmark = pytest.mark.dagster

CORE = """
import sys
sys.modules["dagster"] = None  # any import of it now fails
import dataloader_sdk
from dataloader_sdk import DataLoader, Settings, ControlStore
import dataloader_sdk.cli, dataloader_sdk.orchestration, dataloader_sdk.loader
print(sorted(m for m, mod in sys.modules.items()
             if mod is not None and m.split(".")[0] in ("dagster", "dagster_pipes")))
"""

SHIM = """
import sys
from dataloader_sdk.integrations.dagster import build_definitions, DataLoaderResource
print(callable(build_definitions), "dagster" in sys.modules)
"""


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_core_imports_without_dagster() -> None:
    assert _run(CORE) == "[]"


def test_shim_imports_build_definitions() -> None:
    assert _run(SHIM) == "True True"


def test_resource_refuses_a_plain_password(tmp_path: object) -> None:
    resource = DataLoaderResource(home=str(tmp_path), control_secret="hunter2")
    with pytest.raises(ConfigError, match="must be a secret reference") as info:
        resource.settings()
    assert "hunter2" not in str(info.value)

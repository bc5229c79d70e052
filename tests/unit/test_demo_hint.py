"""The demo's closing hint runs as printed, and its help says what it loads."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dataloader_sdk.cli import main
from dataloader_sdk.demo import DEMO_TABLES
from dataloader_sdk.demo.scenario import explore_command

SCRIPT = Path(sys.executable).parent / "dataloader"


@pytest.fixture
def demo_home(tmp_path: Path) -> Path:
    home = tmp_path / "my demo"  # a space: the hint must quote it
    assert CliRunner().invoke(main, ["--home", str(home), "init"]).exit_code == 0
    return home


def _user_path() -> str:
    return os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                           if p and Path(p).resolve() != SCRIPT.parent.resolve())


def test_under_nox_the_hint_names_the_script_itself(
    demo_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert SCRIPT.is_file(), "the test environment installs the dataloader script"
    monkeypatch.setenv("NOX_CURRENT_SESSION", "demo")
    monkeypatch.setenv("PATH", f"{SCRIPT.parent}{os.pathsep}{os.environ['PATH']}")
    hint = explore_command(demo_home)
    assert shlex.split(hint) == [str(SCRIPT), "--home", str(demo_home), "status"]
    # As the user's shell would run it after nox exits: without nox's bin on PATH.
    result = subprocess.run(hint, shell=True, env={**os.environ, "PATH": _user_path()},
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "No tables yet" in result.stdout


def test_on_the_users_path_the_hint_is_short(
    demo_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOX_CURRENT_SESSION", raising=False)
    monkeypatch.setenv("PATH", f"{SCRIPT.parent}{os.pathsep}{_user_path()}")
    assert shlex.split(explore_command(demo_home))[0] == "dataloader"
    monkeypatch.setenv("PATH", _user_path())  # not on PATH: the full path again
    assert shlex.split(explore_command(demo_home))[0] == str(SCRIPT)


def test_demo_help_names_all_six_tables_and_strategies() -> None:
    text = " ".join(CliRunner().invoke(main, ["demo", "--help"]).output.split())
    assert "six tables" in text
    for table in DEMO_TABLES:
        assert table.strategy in text
    assert "three" not in text

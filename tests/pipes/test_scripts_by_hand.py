"""The Pipes scripts run by hand, without Dagster: exit codes and their one line of output."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from dataloader_sdk.integrations.pipes import dataloader_pipe, dataloader_retry_pipe
from tests.dagster.project import delta_table
from tests.pipes.conftest import PIPE, RETRY_PIPE, ROWS, PipesProject

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


def _one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line of output, got {lines}"
    return lines[0]


def test_load_by_hand_exits_0_with_one_line(pipes_project: PipesProject) -> None:
    done = pipes_project.run_script(PIPE, "--table", "sales.orders")
    assert done.returncode == 0, done.stderr
    line = _one_line(done.stdout)
    assert line.startswith(f"dataloader_pipe: sales.orders succeeded: {ROWS} rows written")
    assert done.stderr.strip() == ""  # no "Pipes inactive" warning, no mock
    table = delta_table(pipes_project.settings.delta_root, "bronze.orders")
    assert sorted(table.to_pyarrow_table().column("id").to_pylist()) == pipes_project.source_ids()
    assert pipes_project.control_status("sales.orders") == ("succeeded", None)


def test_failed_load_by_hand_exits_1_naming_the_error_class(pipes_project: PipesProject) -> None:
    done = pipes_project.run_script(PIPE, "--table", "sales.broken")
    assert done.returncode == 1
    assert done.stdout == ""
    line = _one_line(done.stderr)
    assert line.startswith("dataloader_pipe: sales.broken failed: SourceTransientError: ")
    assert pipes_project.control_status("sales.broken") == ("failed", "SourceTransientError")
    # The retry analysis requeues it (no back-off), by hand too.
    retry = pipes_project.run_script(RETRY_PIPE, "--base-seconds", "0")
    assert retry.returncode == 0, retry.stderr
    assert _one_line(retry.stdout) == "dataloader_retry_pipe: retry analysis: 1 requeue"
    assert pipes_project.control_status("sales.broken")[0] == "queued"


@pytest.mark.parametrize(("args", "message"), [
    ((), "no table given: pass --table NAME"),
    (("--table", "sales.nope"), "sales.nope failed: UnknownNameError"),
    (("--table", "sales.orders", "--control-url", "postgresql://u:hunter22@h/db"),
     "--control-url contains a password"),
    (("--table", "sales.orders", "--control-secret", "hunter22"),
     "--control-secret must be a secret reference"),
])
def test_bad_input_exits_2_and_changes_nothing(
    pipes_project: PipesProject, args: tuple[str, ...], message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # In-process main(argv) (the console script's entry point) for speed; the runs above
    # go through a real subprocess.
    code = dataloader_pipe.main(["--home", str(pipes_project.home), *args])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert out == "" and message in _one_line(err)
    assert "hunter22" not in out + err
    assert pipes_project.control_status("sales.orders") == ("idle", None)


def test_no_project_and_no_control_url_is_refused(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "not-a-project"
    empty.mkdir()
    assert dataloader_pipe.main(["--home", str(empty), "--table", "sales.orders"]) == 2
    assert "no control DB given" in _one_line(capsys.readouterr().err)
    assert list(empty.iterdir()) == []  # nothing was created there


def test_retry_pipe_with_nothing_failed(pipes_project: PipesProject,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert dataloader_retry_pipe.main(["--home", str(pipes_project.home)]) == 0
    out, _ = capsys.readouterr()
    assert _one_line(out) == "dataloader_retry_pipe: retry analysis: no failed tables"


def test_console_scripts_point_at_the_mains() -> None:
    with open("pyproject.toml", "rb") as f:
        scripts = tomllib.load(f)["project"]["scripts"]
    for name, module in (("dataloader_pipe", PIPE), ("dataloader_retry_pipe", RETRY_PIPE)):
        target_module, _, attr = scripts[name].partition(":")
        assert target_module == module
        assert callable(getattr(importlib.import_module(module), attr))

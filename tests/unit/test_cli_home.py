"""Only ``init`` and ``demo`` create a project; every other command refuses a home without one.

A mistyped ``--home`` or the wrong working directory used to become a new, empty project
silently (an empty control DB, "No tables yet"). Now the command says where it looked and
how to create a project, exits 2 and leaves the directory exactly as it was.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from dataloader_sdk.cli import main

COMMANDS = [
    ["status"], ["history"], ["tables", "list"], ["tables", "show", "orders"],
    ["sources", "list"], ["sources", "test", "erp"], ["run", "orders"], ["run", "--due"],
    ["monitor"], ["upgrade-home", "--dry-run"],
    ["sources", "add", "x", "--db-type", "sqlalchemy", "--option", "url=sqlite:////tmp/x.db"],
]


def _tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")) if path.exists() else []


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_home_without_dataloader_toml_is_refused_and_left_alone(
    tmp_path: Path, args: list[str]
) -> None:
    home = tmp_path / "typo"
    home.mkdir()
    (home / "notes.txt").write_text("unrelated\n")
    result = CliRunner().invoke(main, ["--home", str(home), *args])
    assert result.exit_code == 2, result.output
    assert str(home / "dataloader.toml") in result.stderr  # where it looked
    assert "init" in result.stderr  # how to create one
    assert "Traceback" not in result.output
    assert _tree(home) == ["notes.txt"]


def test_a_missing_home_directory_is_not_created(tmp_path: Path) -> None:
    home = tmp_path / "no" / "such" / "dir"
    result = CliRunner().invoke(main, ["--home", str(home), "status"])
    assert result.exit_code == 2
    assert not (tmp_path / "no").exists()


def test_working_directory_and_environment_variable_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATALOADER_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code == 2 and "working directory" in result.stderr
    assert _tree(tmp_path) == []
    monkeypatch.setenv("DATALOADER_HOME", str(tmp_path / "elsewhere"))
    result = CliRunner().invoke(main, ["tables", "list"])
    assert result.exit_code == 2 and "$DATALOADER_HOME" in result.stderr


def test_init_creates_and_then_other_commands_work(tmp_path: Path) -> None:
    home = tmp_path / "proj"
    runner = CliRunner()
    assert runner.invoke(main, ["--home", str(home), "init"]).exit_code == 0
    assert (home / "dataloader.toml").is_file()
    result = runner.invoke(main, ["--home", str(home), "status"])
    assert result.exit_code == 0, result.output


def test_settings_load_requires_the_file_only_when_asked(tmp_path: Path) -> None:
    from dataloader_sdk.config import Settings
    from dataloader_sdk.errors import ConfigError

    settings = Settings.load(home=tmp_path)  # the library default: embedded settings
    assert settings.home == tmp_path.resolve()
    with pytest.raises(ConfigError, match=r"dataloader\.toml does not exist"):
        Settings.load(home=tmp_path, require_file=True)
    assert _tree(tmp_path) == []  # loading never creates anything

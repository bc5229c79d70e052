"""The wheel works on its own: built, checked, installed into a fresh venv outside the
source tree, where the demo, ``python -m dataloader_sdk`` and the plugin test kit run.

This catches files missing from the wheel (migrations, templates, static files) that the
editable install of the test environment would never notice.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.packaging.conftest import REPO, Dist, clean_env, install, make_venv

PACKAGE = REPO / "src" / "dataloader_sdk"


def test_twine_check_passes(dist: Dist) -> None:
    done = subprocess.run([sys.executable, "-m", "twine", "check", "--strict",
                           str(dist.sdist), str(dist.wheel)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == 2


def test_wheel_holds_every_file_of_the_package(dist: Dist) -> None:
    with zipfile.ZipFile(dist.wheel) as wheel:
        names = set(wheel.namelist())
    built_at = dist.sdist.stat().st_mtime
    on_disk = {
        "dataloader_sdk/" + path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
        and path.stat().st_mtime < built_at  # a file saved during the run is not a miss
    }
    assert on_disk - names == set()
    # The files an import-only check would miss:
    assert "dataloader_sdk/py.typed" in names
    assert "dataloader_sdk/control/migrations/script.py.mako" in names
    assert any(n.startswith("dataloader_sdk/control/migrations/versions/0001_") for n in names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    with zipfile.ZipFile(dist.wheel) as wheel:
        text = wheel.read(entry_points).decode()
    assert "dataloader = dataloader_sdk.cli:main" in text
    assert "[pytest11]" in text and "[dataloader_sdk]" in text
    # One entry point per built-in connector and strategy (issue #12).
    assert "postgresql = dataloader_sdk.connectors._register:postgresql" in text
    assert "chunked_backfill = dataloader_sdk.strategies._register:chunked_backfill" in text


def test_sdist_can_run_the_test_session(dist: Dist) -> None:
    import tarfile

    with tarfile.open(dist.sdist) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    for needed in ("pyproject.toml", "noxfile.py", "requirements/test.lock",
                   "scripts/setup-system.sh", "tests/conftest.py",
                   "tests/plugins/dataloader_acme/pyproject.toml"):
        assert needed in names, needed


@pytest.mark.slow
def test_wheel_runs_the_demo_and_the_plugin_kit_outside_the_source_tree(
    dist: Dist, tmp_path: Path
) -> None:
    python = make_venv(tmp_path / "venv")
    kit = tmp_path / "dataloader_acme"
    shutil.copytree(REPO / "tests" / "plugins" / "dataloader_acme", kit,
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    # The plugin's tests run from their own directory, so ``dataloader_acme`` can only be
    # the installed package (the copied project folder is a package of the same name).
    kit_tests = tmp_path / "kit_tests" / "test_acme.py"
    kit_tests.parent.mkdir()
    shutil.copy(kit / "tests" / "test_acme.py", kit_tests)
    install(python, dist.requirement("testing"), str(kit), cwd=tmp_path)
    bin_dir = python.parent
    work = tmp_path / "work"
    work.mkdir()

    def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(list(args), cwd=work, env=clean_env(), capture_output=True,
                              text=True, timeout=timeout, check=False)
        assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
        return done

    # The installed package, not the source tree, is what runs.
    where = run(str(python), "-c", "import dataloader_sdk; print(dataloader_sdk.__file__)")
    assert str(tmp_path / "venv") in where.stdout and str(REPO) not in where.stdout

    demo = run(str(bin_dir / "dataloader"), "demo", "--rows", "2000", "--dir", str(work / "demo"))
    assert "2000" in demo.stdout or "2,000" in demo.stdout, demo.stdout

    help_text = run(str(python), "-m", "dataloader_sdk", "--help")
    assert "Usage: dataloader" in help_text.stdout and "doctor" in help_text.stdout
    doctor = run(str(python), "-m", "dataloader_sdk", "--home", str(work / "proj"), "init")
    assert "Control DB" in doctor.stdout
    run(str(python), "-m", "dataloader_sdk", "--home", str(work / "proj"), "doctor")

    # The plugin test kit: its pytest11 entry point gives the fixture and marker the
    # third-party plugin's tests use; two conformance cases keep this under a minute.
    done = run(str(bin_dir / "pytest"), "-q", "-p", "no:cacheprovider", "-W",
               "ignore::pytest.PytestUnknownMarkWarning",
               f"{kit_tests}::test_a_table_loads_through_the_plugins_connector_and_strategy",
               f"{kit_tests}::test_acme_csv_passes_the_conformance_kit[full]",
               f"{kit_tests}::test_acme_csv_passes_the_conformance_kit[append_only]")
    assert "3 passed" in done.stdout, done.stdout

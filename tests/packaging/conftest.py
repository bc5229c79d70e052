"""Builds the sdist and the wheel once per test run, with uv, into a temporary directory."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def uv(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run uv (the one from the test environment) and fail with its output if it fails."""
    done = subprocess.run([sys.executable, "-m", "uv", *args], cwd=cwd, env=clean_env(),
                          capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"uv {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything pointing back at the source tree or its venv."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "UV_PROJECT_ENVIRONMENT")
           and not k.startswith("DATALOADER_")}
    env.update(extra)
    return env


@dataclass(frozen=True)
class Dist:
    """The built distributions."""

    sdist: Path
    wheel: Path

    def requirement(self, extra: str | None = None) -> str:
        """A requirement naming the local wheel (optionally with one extra)."""
        return f"dataloader-sdk{f'[{extra}]' if extra else ''} @ {self.wheel.as_uri()}"


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    """``uv build``: the sdist, then the wheel built from the unpacked sdist.

    Building the wheel from the sdist (uv's default) also proves the sdist is complete.
    """
    out = tmp_path_factory.mktemp("dist")
    uv("build", "--out-dir", str(out), str(REPO), cwd=out)
    [sdist] = out.glob("dataloader_sdk-*.tar.gz")
    [wheel] = out.glob("dataloader_sdk-*.whl")
    return Dist(sdist, wheel)


LOCK = REPO / "requirements" / "test.lock"


def install(python: Path, *requirements: str, cwd: Path) -> None:
    """Install into the venv of ``python``, pinned by the test lock, from uv's cache first.

    ``--offline`` first: uv revalidates a source distribution (pyspark has no wheel) with
    the registry on every online install and rebuilds it, which alone takes a minute.
    Anything not cached yet comes from the registry on the second try.
    """
    args = ["pip", "install", "--quiet", "--python", str(python), "-c", str(LOCK),
            *requirements]
    done = subprocess.run([sys.executable, "-m", "uv", *args[:2], "--offline", *args[2:]],
                          cwd=cwd, env=clean_env(), capture_output=True, text=True,
                          timeout=300, check=False)
    if done.returncode != 0:
        uv(*args, cwd=cwd)


def make_venv(where: Path) -> Path:
    """A fresh virtualenv (outside the source tree); returns its python."""
    uv("venv", "--quiet", "--python", sys.executable, str(where), cwd=where.parent)
    return where / "bin" / "python"

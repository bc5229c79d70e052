"""``pip install '.[pipes]'`` pulls no Dagster core; ``databricks`` pins one Dagster set.

The requirement set is resolved from pyproject.toml and, for every dependency, the
installed distribution's own metadata (all of them are in the test environment), walking
extras and environment markers as pip does: fast, offline, and exactly the set pip would
install for this interpreter. tests/packaging installs each extra into a fresh venv too.
"""

from __future__ import annotations

import importlib.metadata as md
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _closure(extra: str) -> dict[str, set[str]]:
    """Every distribution ``dataloader-sdk[extra]`` installs, with the extras asked of it."""
    optional = PROJECT["optional-dependencies"]
    todo = [Requirement(r) for r in [*PROJECT["dependencies"], *optional[extra]]]
    seen: dict[str, set[str]] = {}
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name == "dataloader-sdk":  # a self-reference: this project's own extras
            for sub in req.extras:
                todo.extend(Requirement(r) for r in optional[sub])
            continue
        if name in seen and set(req.extras) <= seen[name]:
            continue
        first = name not in seen
        new = set(req.extras) - seen.setdefault(name, set())
        seen[name] |= new
        envs = ([{"extra": ""}] if first else []) + [{"extra": e} for e in sorted(new)]
        for raw in md.requires(req.name) or []:
            sub = Requirement(raw)
            wanted = first if sub.marker is None else any(
                sub.marker.evaluate(env) for env in envs)
            if wanted:
                todo.append(sub)
    return seen


def test_pipes_extra_pulls_no_dagster_core() -> None:
    names = set(_closure("pipes"))
    assert {"dagster-pipes", "pyspark", "delta-spark"} <= names
    assert not {n for n in names if n == "dagster" or n.startswith("dagster-")} - {
        "dagster-pipes"}, sorted(names)


def test_the_check_sees_dagster_where_it_is() -> None:
    # The same walk over the dagster extra finds the core: the check above can fail.
    assert "dagster" in _closure("dagster")


def test_databricks_extra_pins_one_dagster_set() -> None:
    pins = {canonicalize_name(r.name): str(r.specifier)
            for r in map(Requirement, PROJECT["optional-dependencies"]["databricks"])}
    dagster = pins["dagster"].removeprefix("==")
    integration = pins["dagster-databricks"].removeprefix("==")
    # Dagster's integrations are versioned 0.(minor+16).patch alongside 1.minor.patch.
    _, minor, patch = dagster.split(".")
    assert integration == f"0.{int(minor) + 16}.{patch}"
    assert pins["dagster-pipes"] == f"=={dagster}"
    assert pins["dagster"] == dict(
        (canonicalize_name(r.name), str(r.specifier))
        for r in map(Requirement, PROJECT["optional-dependencies"]["dagster"]))["dagster"]
    assert "databricks-sdk" in pins
    dev = " ".join(PROJECT["optional-dependencies"]["dev"])
    assert "databricks" in dev.split("[", 1)[1].split("]", 1)[0].split(",")


def test_the_pipes_modules_import_without_dagster() -> None:
    # A fresh interpreter where importing dagster fails: the Pipes scripts still import.
    code = ("import sys; sys.modules['dagster'] = None; "
            "import dataloader_sdk.integrations.pipes.dataloader_pipe, "
            "dataloader_sdk.integrations.pipes.dataloader_retry_pipe; print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr

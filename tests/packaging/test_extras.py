"""Each extra resolves and imports on its own: installed alone into a fresh venv.

The extras are read from the wheel's metadata, so a new extra is tested without editing
this file. In each venv every top-level module of the extra's distributions is imported,
plus the SDK modules the extra exists for (when the wheel has them). The aggregates
``all`` and ``dev`` are only unions of the others (and ``dev`` is the test environment
itself), so they are not installed again here.
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from tests.packaging.conftest import REPO, Dist, clean_env, install, make_venv

AGGREGATES = frozenset({"all", "dev"})

#: SDK modules that need an extra (imported in its venv when the wheel has them).
SDK_MODULES = {
    "postgres": ["dataloader_sdk.connectors.postgresql"],
    "sqlserver": ["dataloader_sdk.connectors.sqlserver"],
    "oracle": ["dataloader_sdk.connectors.oracle"],
    "snowflake": ["dataloader_sdk.connectors.snowflake"],
    "clickhouse": ["dataloader_sdk.connectors.clickhouse"],
    "spark": ["dataloader_sdk.engines.spark"],
    "dagster": ["dataloader_sdk.integrations.dagster"],
    "pipes": ["dataloader_sdk.integrations.pipes"],
    "openlineage": ["dataloader_sdk.integrations.openlineage.observer"],
    "ui": ["dataloader_sdk.ui"],
    "testing": ["dataloader_sdk.testing", "dataloader_sdk.testing.pytest_plugin"],
}

# Imports every top-level module of the distributions the extra requires (from the
# installed metadata, so nothing is listed by hand) and the SDK modules given.
_IMPORT_ALL = r'''
import importlib, importlib.metadata as md, re, sys
extra, sdk_modules = sys.argv[1], sys.argv[2:]
wanted = set()
for req in md.requires("dataloader-sdk") or []:
    name, _, marker = req.partition(";")
    if re.search(r"extra\s*==\s*['\"]%s['\"]" % re.escape(extra), marker):
        wanted.add(re.split(r"[\[<>=!~ ;(]", name.strip(), maxsplit=1)[0].lower().replace("_", "-"))
modules = sorted({m for m, dists in md.packages_distributions().items()
                  for d in dists if d.lower().replace("_", "-") in wanted
                  and m.isidentifier() and not m.startswith("_")})
assert wanted and modules, (extra, wanted, modules)
for name in modules + sdk_modules:
    importlib.import_module(name)
print("imported", " ".join(modules + sdk_modules))
'''


def _extras() -> list[str]:
    """The extras declared in pyproject.toml (the wheel's Provides-Extra, before building)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - 3.10 has tomli (a dependency there)
        import tomli as tomllib

    data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return sorted(set(data["project"]["optional-dependencies"]) - AGGREGATES)


def _wheel_extras(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        message = Parser().parsestr(zf.read(meta).decode())
    return set(message.get_all("Provides-Extra") or [])


def test_wheel_declares_every_extra(dist: Dist) -> None:
    assert set(_extras()) <= _wheel_extras(dist.wheel)


@pytest.mark.slow
@pytest.mark.parametrize("extra", _extras())
def test_extra_installs_and_imports_alone(extra: str, dist: Dist, tmp_path: Path) -> None:
    python = make_venv(tmp_path / f"venv-{extra}")
    install(python, dist.requirement(extra), cwd=tmp_path)
    with zipfile.ZipFile(dist.wheel) as zf:
        names = set(zf.namelist())
    sdk = [m for m in SDK_MODULES.get(extra, [])
           if {m.replace(".", "/") + ".py", m.replace(".", "/") + "/__init__.py"} & names]
    done = subprocess.run([str(python), "-c", _IMPORT_ALL, extra, *sdk], cwd=tmp_path,
                          env=clean_env(), capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, f"extra {extra!r}:\n{done.stdout}\n{done.stderr}"
    assert re.search(r"^imported \S", done.stdout, re.M), done.stdout

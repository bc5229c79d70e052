"""Moving a home made before per-environment Delta roots onto them.

Homes written by dataloader-sdk before 0.2 name one ``delta_root`` for both environments,
so ``dataloader`` and ``dataloader_test`` wrote the same Delta tables.
:func:`split_delta_root` gives each environment its own directory:

1. the tables under the old root move to ``<old root>/dataloader`` — prod keeps its data
   and its control state, which go on together;
2. every ``dataloader_test`` table is reset (new incarnation, empty state), because the
   tables it wrote are prod's now: its next run reloads it into
   ``<old root>/dataloader_test``;
3. ``delta_root`` in ``dataloader.toml`` becomes ``<old root>/{environment}``.

Run it while no load runs. It is idempotent: a home already split is left alone.
"""

from __future__ import annotations

import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from dataloader_sdk.config import CONFIG_FILE, Settings
from dataloader_sdk.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = ["HomeUpgrade", "split_delta_root"]


@dataclass(frozen=True)
class HomeUpgrade:
    """What :func:`split_delta_root` did (or, with ``dry_run``, would do).

    Attributes:
        changed: Whether the home needed the change.
        old_root: The shared root (empty when nothing changed).
        delta_root: The new ``delta_root`` setting.
        moved: ``(from, to)`` directories of the prod tables moved.
        reset_tables: The ``dataloader_test`` tables reset.
    """

    changed: bool
    old_root: str
    delta_root: str
    moved: tuple[tuple[str, str], ...] = ()
    reset_tables: tuple[str, ...] = ()


def _table_dirs(root: Path) -> list[Path]:
    skip = {root / "dataloader", root / "dataloader_test"}
    found = [log.parent for log in root.rglob("_delta_log") if log.is_dir()]
    return sorted(d for d in found if not any(d == s or s in d.parents for s in skip))


def split_delta_root(home: Path, *, dry_run: bool = False, actor: str = "upgrade-home") -> HomeUpgrade:
    """Give each environment of ``home`` its own Delta root (see the module docstring).

    Raises:
        ConfigError: No dataloader.toml, or an object-store root (move those tables with
            the store's own tools, then set ``delta_root`` by hand).
    """
    path = home / CONFIG_FILE
    if not path.exists():
        raise ConfigError(f"no {CONFIG_FILE} in {home}; run this in a dataloader home")
    text = path.read_text(encoding="utf-8")
    template = tomllib.loads(text).get("delta_root")
    if not isinstance(template, str) or "{environment}" in template:
        current = template if isinstance(template, str) else "(default)"
        return HomeUpgrade(False, "", current)
    if "://" in template:
        raise ConfigError(
            f"delta_root {template!r} is an object-store URI: move its tables under "
            f"'{template.rstrip('/')}/dataloader' with the store's tools, then set delta_root "
            "to '.../{environment}' and reset the dataloader_test tables"
        )
    old = Path(template) if Path(template).is_absolute() else home / template
    new_template = f"{template.rstrip('/')}/{{environment}}"
    moves = [(d, old / "dataloader" / d.relative_to(old)) for d in _table_dirs(old)]
    test = Settings.load(home=home, environment="dataloader_test")
    store = test.open_store()
    try:
        names = [t.name for t in store.list_tables()]
        if not dry_run:
            for src, dst in moves:
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(src), str(dst))
            for name in names:
                store.reset_state(name, actor=actor)
            line = re.compile(r"(?m)^delta_root\s*=.*$")
            path.write_text(line.sub(f"delta_root = {_toml_string(new_template)}", text),
                            encoding="utf-8")
    finally:
        store.close()
    return HomeUpgrade(True, str(old), new_template,
                       tuple((str(a), str(b)) for a, b in moves), tuple(names))


def _toml_string(value: str) -> str:
    import json

    return json.dumps(value)  # a JSON string is a valid TOML basic string

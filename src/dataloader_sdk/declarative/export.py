"""Writing an environment's sources and tables as a config file (``dataloader config export``).

Secrets are never exported: a source holds a secret *reference* only (the store refuses
anything else), and that reference is what the file gets. Fields left at their default
(``None``, empty options) are left out, so the file shows what was configured.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dataloader_sdk.control.config_diff import source_json, table_json
from dataloader_sdk.declarative.schema import FILE_VERSION

if TYPE_CHECKING:
    from dataloader_sdk.control.store import ControlStore

__all__ = ["dump_yaml", "environment_body", "export_config"]

_HEADER = ("dataloader-sdk configuration; check it with `dataloader config plan FILE`, "
           "apply it with `dataloader config apply FILE`. JSON Schema: `dataloader config "
           "schema`.")


def _trim(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None and v != {}}


def environment_body(store: ControlStore) -> dict[str, Any]:
    """``{"sources": {...}, "tables": {...}}`` of the store's environment, by name."""
    return {
        "sources": {s.name: _trim(source_json(s)) for s in store.list_sources()},
        "tables": {t.name: _trim(table_json(t.config)) for t in store.list_tables()},
    }


def export_config(stores: Mapping[str, ControlStore], *, single_file: bool = False) -> str:
    """The YAML text of one environment, or of several in one file.

    Args:
        stores: Environment name → its store. Without ``single_file`` exactly one.
        single_file: Write every given environment under ``environments:``.
    """
    document: dict[str, Any] = {"version": FILE_VERSION}
    if single_file:
        document["environments"] = {env: environment_body(s) for env, s in stores.items()}
    else:
        if len(stores) != 1:
            raise ValueError("export one environment at a time, or use single_file=True")
        [store] = stores.values()
        document.update(environment_body(store))
    return dump_yaml(document, comment=_HEADER)


def dump_yaml(document: Mapping[str, Any], *, comment: str | None = None) -> str:
    """Block-style YAML of ``document`` (keys in the order given)."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.width = 4096  # long URLs and queries stay on one line
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    if comment:
        out.write(f"# {comment}\n")
    yaml.dump(dict(document), out)
    return out.getvalue()

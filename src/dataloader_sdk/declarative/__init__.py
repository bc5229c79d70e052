"""Config as code: sources and tables as a YAML file, exported, planned and applied.

::

    from dataloader_sdk.declarative import apply_config, load_config, plan_config

    document = load_config("dataloader.yaml", host=get_host())   # ConfigFileError: line numbers
    wanted = document.for_environment(store.environment)
    print(plan_config(store, wanted).to_json())                  # create / change / remove
    apply_config(store, wanted, actor="ci", prune=True)           # one transaction, audited

Needs the ``config`` extra (``ruamel.yaml``, ``jsonschema``); they are imported only when a
file is read or written. See docs/operations.md ("Config as code").
"""

from __future__ import annotations

from dataloader_sdk.declarative.apply import (
    ConfigApplyResult,
    ConfigPlan,
    apply_config,
    plan_config,
)
from dataloader_sdk.declarative.document import (
    ConfigDocument,
    ConfigFileError,
    EnvironmentConfig,
    load_config,
    parse_config,
)
from dataloader_sdk.declarative.export import environment_body, export_config
from dataloader_sdk.declarative.schema import FILE_VERSION, config_schema

__all__ = [
    "FILE_VERSION",
    "ConfigApplyResult",
    "ConfigDocument",
    "ConfigFileError",
    "ConfigPlan",
    "EnvironmentConfig",
    "apply_config",
    "config_schema",
    "environment_body",
    "export_config",
    "load_config",
    "parse_config",
    "plan_config",
]

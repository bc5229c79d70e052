"""``dataloader_sdk.engines`` exports a curated surface without importing engine libraries."""

from __future__ import annotations

import subprocess
import sys

import dataloader_sdk.engines as engines
from dataloader_sdk.engines.base import Engine, EngineFactory


def test_every_exported_name_resolves_and_is_documented() -> None:
    for name in engines.__all__:
        value = getattr(engines, name)
        assert value is not None
        if isinstance(value, type):
            assert value.__doc__, f"{name} has no docstring"
    assert engines.Engine is Engine and engines.EngineFactory is EngineFactory
    assert set(engines.__all__) <= set(dir(engines))


def test_importing_engines_imports_no_engine_library() -> None:
    code = (
        "import sys, dataloader_sdk.engines as e\n"
        "assert 'deltalake' not in sys.modules and 'pyspark' not in sys.modules\n"
        "e.SparkEngineFactory\n"
        "assert 'pyspark' not in sys.modules and 'deltalake' not in sys.modules\n"
        "e.DeltaRsEngineFactory\n"
        "assert 'deltalake' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

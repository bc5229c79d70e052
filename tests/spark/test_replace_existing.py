"""A Merge with ``replace_existing`` (a table's first step after a reset or re-add)
replaces what the target holds, on both engines, as a first load would (keys checked,
duplicates resolved, soft-deleted rows dropped); the old rows never survive."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataloader_sdk.engines.base import Engine, EngineSettings
from dataloader_sdk.engines.delta_rs import DeltaRsEngine
from dataloader_sdk.engines.spark import SparkEngine
from dataloader_sdk.model import Column, Merge, TargetName
from tests.spark._helpers import commit, reader, typed_rows

pytestmark = pytest.mark.spark

T = TargetName("bronze", "reset")


def _ids(engine: Engine) -> list[int]:
    return sorted(engine.read(T).column("id").to_pylist())


@pytest.mark.parametrize("which", ["delta_rs", "spark"])
def test_replace_existing_merge_replaces_the_old_rows(
    which: str, spark_engine: SparkEngine, tmp_path: Path
) -> None:
    engine: Engine = spark_engine if which == "spark" else DeltaRsEngine(
        EngineSettings(root=str(tmp_path / "rs")))
    merge = Merge(("id",), Column("seq"))
    engine.write(T, reader(typed_rows([1, 2, 3, 4])), merge, commit(1))
    assert _ids(engine) == [1, 2, 3, 4]
    # A new incarnation's first step: ids 3 and 5, with 5 given twice (the later wins).
    fresh = typed_rows([3, 5, 5], [1, 1, 2])
    replacing = Merge(("id",), Column("seq"), replace_existing=True)
    engine.write(T, reader(fresh), replacing, commit(2))
    assert _ids(engine) == [3, 5]
    seq = dict(zip(engine.read(T).column("id").to_pylist(),
                   engine.read(T).column("seq").to_pylist(), strict=True))
    assert seq[5] == 2

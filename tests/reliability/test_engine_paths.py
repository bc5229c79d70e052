"""The delta_rs engine writes only under its root (issue #9, item 9, first bullet).

``TargetName.parse`` refuses unsafe names, but a ``TargetName`` built in code reached the
engine unchecked: ``TargetName('..', 'x')`` wrote a table beside the root, and a root such
as ``uc:main`` became a directory relative to the working directory. The engine checks
both itself now, before touching storage.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pytest

from dataloader_sdk.engines.base import EngineSettings
from dataloader_sdk.engines.delta_rs import DeltaRsEngine, DeltaRsEngineFactory
from dataloader_sdk.engines.delta_rs.paths import check_delta_rs_root, table_path
from dataloader_sdk.errors import ConfigError
from dataloader_sdk.model import Append, CommitInfo, TableState, TargetName


def commit() -> CommitInfo:
    return CommitInfo(app_id="dataloader_sdk:1", txn_version=1, run_id="r", table_id=1,
                      table="x", strategy="full", state_after=TableState(txn_version=1))


def rows() -> pa.RecordBatchReader:
    table = pa.table({"id": [1]})
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches())


def tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


BAD_TARGETS = [
    TargetName("..", "x"),
    TargetName("bronze", ".."),
    TargetName(".", "x"),
    TargetName("a/b", "x"),
    TargetName("bronze", "..\\x"),
    TargetName("", "x"),
    TargetName("bronze", "x\x00y"),
    TargetName("bronze", "x\ny"),
    TargetName("bronze", "x", catalog=".."),
    TargetName("bronze", "/etc"),
]


@pytest.mark.parametrize("target", BAD_TARGETS, ids=repr)
def test_unsafe_target_parts_are_refused_and_nothing_is_written(
    tmp_path: Path, target: TargetName
) -> None:
    root = tmp_path / "root" / "delta"
    root.mkdir(parents=True)
    engine = DeltaRsEngine(EngineSettings(root=str(root)))
    for call in (
        lambda: engine.write(target, rows(), Append(), commit()),
        lambda: engine.exists(target),
        lambda: engine.count(target),
        lambda: engine.uri(target),
    ):
        with pytest.raises(ConfigError, match=r"target .*(part|not under)"):
            call()
    assert tree(tmp_path) == ["root", "root/delta"]


def test_a_safe_target_still_writes_under_the_root(tmp_path: Path) -> None:
    engine = DeltaRsEngine(EngineSettings(root=str(tmp_path)))
    target = TargetName("bronze", "orders", catalog="main")
    engine.write(target, rows(), Append(), commit())
    assert engine.uri(target) == f"{tmp_path}/main/bronze/orders"
    assert (tmp_path / "main" / "bronze" / "orders" / "_delta_log").is_dir()


@pytest.mark.parametrize("root", ["uc:main", "uc:", "UC:main", "uc://main.bronze"])
def test_unity_catalog_roots_point_to_the_spark_engine(root: str) -> None:
    for open_engine in (DeltaRsEngineFactory().open, DeltaRsEngine):
        with pytest.raises(ConfigError, match="Use the spark engine"):
            open_engine(EngineSettings(root=root))


@pytest.mark.parametrize("root", ["delta", "./delta", "relative/dir", "ftp://host/x",
                                  "dbfs:/x", "file://relative", ""])
def test_relative_or_unsupported_roots_are_refused(
    root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"engine delta_rs: (root|settings\.root)"):
        DeltaRsEngineFactory().open(EngineSettings(root=root))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("root", ["/data/delta", "s3://bucket/delta", "abfss://c@acct.dfs/x",
                                  "gs://bucket", "file:///data/delta", "memory:///"])
def test_absolute_and_object_store_roots_are_accepted(root: str) -> None:
    check_delta_rs_root(root)
    path = table_path(root, TargetName("bronze", "t"))
    assert path.startswith(root.rstrip("/")) and path.endswith("/bronze/t")

"""Landing-table freshness: SLA per table, checked against the last load and Delta commit."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from dataloader_sdk import orchestration as orch
from dataloader_sdk.engines.base import Engine
from dataloader_sdk.errors import ConfigError, ValidationError
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.model import TargetName, utcnow
from dataloader_sdk.testing import FaultyEngine
from tests.orchestration.conftest import table


class AskCounter(FaultyEngine):
    """The real engine, counting how often the monitor asks for a last commit."""

    def __init__(self, inner: Engine) -> None:
        super().__init__(inner)
        self.asked: list[TargetName] = []

    def last_commit_time(self, target: TargetName) -> datetime | None:
        self.asked.append(target)
        return self.inner.last_commit_time(target)


def test_fresh_stale_pending_missing(loader: DataLoader, tmp_path: Path) -> None:
    store = loader.store
    loader.add_table(table("a", interval=60), actor="t")           # SLA 3 x 60 s
    loader.add_table(table("b", interval=3600, freshness_sla_seconds=600), actor="t")
    loader.add_table(table("c", interval=60), actor="t")           # never loaded
    loader.add_table(table("manual", interval=None), actor="t")    # no SLA: not checked
    before = utcnow()
    loader.load_table("a")
    loader.load_table("b")
    engine = AskCounter(loader.engine)

    now = utcnow()
    report = {f.name: f for f in orch.check_landing_tables(store, engine, now=now)}
    assert sorted(report) == ["a", "b", "c"]
    assert (report["a"].status, report["a"].sla_seconds, report["a"].late_seconds) == (
        "fresh", 180, 0.0)
    assert report["b"].sla_seconds == 600
    assert report["c"].status == "pending"  # added moments ago, within one SLA
    # Fresh by the control DB alone: the engine is asked only about c.
    assert engine.asked == [TargetName("bronze", "c")]

    engine.asked.clear()
    later = now + timedelta(seconds=400)
    report = {f.name: f for f in orch.check_landing_tables(store, engine, now=later)}
    a = report["a"]
    assert a.status == "stale"
    assert a.last_commit_at is not None
    assert before - timedelta(seconds=5) <= a.last_commit_at <= now + timedelta(seconds=5)
    assert a.last_success_at is not None
    newest = max(a.last_success_at, a.last_commit_at)
    assert a.age_seconds == pytest.approx((later - newest).total_seconds())
    assert a.late_seconds == pytest.approx(a.age_seconds - 180)
    assert report["b"].status == "fresh"
    assert report["c"].status == "missing"
    assert report["c"].late_seconds > 0
    assert not a.ok
    assert sorted(t.table for t in engine.asked) == ["a", "c"]


def test_deleted_target_is_missing_when_verified(loader: DataLoader, tmp_path: Path) -> None:
    loader.add_table(table("a", interval=60), actor="t")
    loader.load_table("a")
    shutil.rmtree(tmp_path / "delta" / "bronze" / "a")
    now = utcnow()
    (quick,) = orch.check_landing_tables(loader.store, loader.engine, now=now)
    assert quick.status == "fresh"  # the control DB vouches for it; storage not touched
    (checked,) = orch.check_landing_tables(loader.store, loader.engine, now=now,
                                           verify_targets=True)
    assert (checked.status, checked.last_commit_at) == ("missing", None)
    with pytest.raises(ConfigError, match="sla_multiple"):
        orch.check_landing_tables(loader.store, loader.engine, now=now, sla_multiple=0)


def test_sla_is_validated(loader: DataLoader) -> None:
    with pytest.raises(ValidationError, match="freshness_sla_seconds"):
        loader.add_table(table("a", freshness_sla_seconds=0), actor="t")
    assert loader.store.list_tables() == []

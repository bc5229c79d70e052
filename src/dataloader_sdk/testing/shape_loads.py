"""Loads of every table shape: the strategies' results checked against a plain model.

:func:`run_shape_load` loads one :class:`~dataloader_sdk.testing.shapes.TableShape` with
one strategy through a real :class:`~dataloader_sdk.loader.DataLoader`, changes the
source, loads again, and compares the Delta target with what the strategy promises after
each load. Where the conformance machine varies the changes on one fixed table, this
varies the table: composite keys, no key, many types, names that need quoting.
:data:`SHAPE_LOADS` pairs each shape with the strategies that apply to it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, time, timezone
from decimal import Decimal
from pathlib import Path
from typing import Literal

from dataloader_sdk.model import JSONValue, TableConfig, TargetName
from dataloader_sdk.plugins import PluginHost, get_host
from dataloader_sdk.testing.cases import TODAY
from dataloader_sdk.testing.contract_sources import ShapeSource
from dataloader_sdk.testing.machine import EngineFactory
from dataloader_sdk.testing.shapes import SHAPES, TableShape

__all__ = ["SHAPE_LOADS", "ShapeLoad", "run_shape_load"]

ShapeStrategy = Literal["full", "incremental", "append_only"]

_NOW = datetime.combine(TODAY, time(12), tzinfo=timezone.utc)


@dataclass(frozen=True)
class ShapeLoad:
    """One shape loaded with one strategy."""

    shape: TableShape
    strategy: ShapeStrategy

    @property
    def id(self) -> str:
        """``<shape>-<strategy>``, for test ids."""
        return f"{self.shape.id}-{self.strategy}"

    def options(self) -> dict[str, JSONValue]:
        """The strategy options: the shape's cursor, and its key for merges."""
        if self.strategy == "full":
            return {}
        options: dict[str, JSONValue] = {"watermark_column": self.shape.cursor}
        if self.strategy == "incremental":
            options["primary_keys"] = list(self.shape.primary_key)
        return options


#: ``full`` for every shape; ``incremental`` (merge on the key) for shapes with a key;
#: ``append_only`` for the shape without one.
SHAPE_LOADS: tuple[ShapeLoad, ...] = tuple(
    ShapeLoad(s, strategy)
    for s in SHAPES
    for strategy in ("full", "incremental" if s.primary_key else "append_only")
)


def run_shape_load(
    load: ShapeLoad, source: ShapeSource, engine_factory: EngineFactory, *, workdir: Path,
    host: PluginHost | None = None,
) -> None:
    """Create the shape's table, load, change the source, load again; compare each time.

    The change: ``full`` rewrites the table (rows updated, some gone, some new);
    ``incremental`` updates rows (a later cursor) and adds rows; ``append_only`` adds rows.

    Raises:
        AssertionError: a load failed, or the target differs from the source rows the
            strategy promises (the message lists what is missing and what is extra).
    """
    from dataloader_sdk.control.store import ControlStore
    from dataloader_sdk.loader import DataLoader

    shape = load.shape
    first = shape.rows(30)
    obj = source.create_table(shape, first)
    workdir.mkdir(parents=True, exist_ok=True)
    store = ControlStore.open(f"sqlite:///{workdir / 'dataloader.db'}")
    loader = DataLoader(store, engine_factory(workdir / "delta"), host=host or get_host(),
                        clock=lambda: _NOW)
    target = TargetName("bronze", f"shape_{shape.id}")
    try:
        config = source.source_config()
        loader.add_source(config, actor="kit")
        loader.add_table(TableConfig(
            name="shape", source=config.name, source_table=obj.table, source_schema=obj.schema,
            target=target, strategy=load.strategy, strategy_options=load.options(),
        ), actor="kit")
        _load_and_compare(loader, target, shape, first, "the first load")
        if load.strategy == "full":
            second = shape.rows(20, generation=1) + shape.rows(15, start=40)
            source.rewrite(obj, shape, second)
        elif load.strategy == "incremental":
            second = shape.rows(10) + shape.rows(20, start=10, generation=1) \
                + shape.rows(10, start=30, generation=1)
            source.rewrite(obj, shape, second[:30])
            source.insert(obj, shape, second[30:])
        else:
            second = first + shape.rows(15, start=30)
            source.insert(obj, shape, second[30:])
        _load_and_compare(loader, target, shape, second, "the load after the change")
    finally:
        loader.close()
        source.drop_table(obj)


def _load_and_compare(loader: object, target: TargetName, shape: TableShape,
                      rows: list[tuple[object, ...]], what: str) -> None:
    from dataloader_sdk.loader import DataLoader

    assert isinstance(loader, DataLoader)
    record = loader.load_table("shape", raise_on_error=False)
    assert record.status == "succeeded", (
        f"{shape.id}: {what} ended {record.status}: {record.error_class}: "
        f"{record.error_message}")
    table = loader.engine.read(target)
    got = Counter(zip(*(map(_plain, table.column(n).to_pylist()) for n in shape.names),
                      strict=True))
    want = Counter(tuple(_plain(v) for v in row) for row in rows)
    missing, extra = want - got, got - want
    assert not missing and not extra, (
        f"{shape.id}: after {what} the target differs from the source\n"
        f"  missing: {sorted(map(repr, missing.elements()))[:5]}\n"
        f"  unexpected: {sorted(map(repr, extra.elements()))[:5]}")


def _plain(value: object) -> object:
    """A value as comparable between source rows and the target (UTC wall time for
    aware timestamps, one form for decimals)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    if isinstance(value, Decimal):
        return value.normalize()
    return value

"""The translator's asset specs and ``build_definitions``' refusals."""

from __future__ import annotations

import dagster as dg
import pytest

from dataloader_sdk import ConfigError
from dataloader_sdk.integrations.dagster import (
    DataLoaderTranslator,
    build_definitions,
    pool_name,
)
from tests.dagster.conftest import Project
from tests.dagster.project import add_sqlite_source, add_table

pytestmark = pytest.mark.dagster


def test_one_asset_per_table_keyed_by_target(project: Project) -> None:
    defs = build_definitions(project.home)
    specs = {s.key: s for s in defs.resolve_all_asset_specs()}
    orders = specs[dg.AssetKey(["bronze", "orders"])]
    assert orders.group_name == "src_a"
    assert orders.kinds == {"delta"}
    assert orders.metadata["dagster/table_name"] == "bronze.orders"
    assert orders.tags["dataloader/table"] == "sales.orders"
    assert orders.tags["dataloader/source"] == "src_a"
    assert orders.skippable
    assert dg.AssetKey(["dataloader", "retry_analysis"]) in specs
    # One op per table, each in its source's pool.
    load = defs.resolve_assets_def(dg.AssetKey(["bronze", "orders"]))
    assert load.keys == {dg.AssetKey(["bronze", "orders"])}
    assert load.op.pool == pool_name("src_a") == "dataloader/src_a"
    assert load.op.tags["dataloader/table"] == "sales.orders"
    assert load.op.retry_policy is None
    dg.Definitions.validate_loadable(defs)


def test_two_tables_on_one_key_are_refused(project: Project) -> None:
    # The store already refuses a second table on one target...
    with pytest.raises(ConfigError, match=r"already the target of table 'sales.orders'"):
        add_table(project.loader, "sales.orders_copy", "src_a", "orders", "bronze.orders")
    # ...but a translator can still map two targets onto one asset key.
    add_table(project.loader, "sales.orders_copy", "src_a", "orders", "silver.orders")

    class ByTableName(DataLoaderTranslator):
        def get_asset_spec(self, table):  # type: ignore[no-untyped-def]
            spec = super().get_asset_spec(table)
            return spec.replace_attributes(key=dg.AssetKey([table.config.target.parts[-1]]))

    with pytest.raises(ConfigError, match=r"'sales.orders' and 'sales.orders_copy' both map to "
                                          r"orders"):
        build_definitions(project.home, translator=ByTableName())


def test_a_source_name_dagster_cannot_group_is_refused_not_altered(project: Project) -> None:
    add_sqlite_source(project.loader, "src-b", project.source_db)
    add_table(project.loader, "b.items", "src-b", "items", "bronze.b_items")
    with pytest.raises(ConfigError, match=r"source 'src-b' cannot be a Dagster group name"):
        build_definitions(project.home)

    class Grouped(DataLoaderTranslator):
        def get_asset_spec(self, table):  # type: ignore[no-untyped-def]
            if table.config.source == "src-b":
                return dg.AssetSpec(list(table.config.target.parts), group_name="src_b",
                                    kinds={"delta"}, skippable=True)
            return super().get_asset_spec(table)

    defs = build_definitions(project.home, translator=Grouped())
    spec = next(s for s in defs.resolve_all_asset_specs()
                if s.key == dg.AssetKey(["bronze", "b_items"]))
    assert spec.group_name == "src_b"

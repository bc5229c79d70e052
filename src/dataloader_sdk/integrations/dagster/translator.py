"""``DataLoaderTranslator``: one table of the control DB → one Dagster ``AssetSpec``.

The single override point is :meth:`DataLoaderTranslator.get_asset_spec`, as in
dagster-dlt and dagster-sling: subclass it, call ``super()`` and change what you need
with ``spec.replace_attributes(...)`` / ``spec.merge_attributes(...)``.

Names are never altered. The asset key is the Delta target's parts (catalog first when
present), the group is the source's name; a source name Dagster cannot use as a group
(only ``[A-Za-z0-9_]``) is refused with the fix, and two tables mapping to one asset key
are refused by :func:`check_unique_keys`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import dagster as dg

from dataloader_sdk import ConfigError, TableRecord

__all__ = [
    "KIND",
    "SOURCE_TAG",
    "TABLE_TAG",
    "DataLoaderTranslator",
    "check_unique_keys",
    "pool_name",
]

KIND = "delta"
TABLE_TAG = "dataloader/table"
SOURCE_TAG = "dataloader/source"
_GROUP_RE = re.compile(r"^[A-Za-z0-9_]+$")
# Dagster's strict tag values (asset tags): at most 63 of these characters.
_TAG_VALUE_RE = re.compile(r"^[A-Za-z0-9_.\-]{0,63}$")


def pool_name(source: str) -> str:
    """The Dagster concurrency pool of a source's table loads (``dataloader/<source>``)."""
    return f"dataloader/{source}"


class DataLoaderTranslator:
    """Maps a control-DB table to the Dagster asset that loads it."""

    def get_asset_spec(self, table: TableRecord) -> dg.AssetSpec:
        """The asset spec of one table.

        Args:
            table: The table's control record (``store.list_tables()`` gives them).

        Returns:
            Key = the target's parts; group = the source; kind ``delta``;
            ``dagster/table_name`` = the full target name; ``skippable`` because a
            ``check_and_load`` run whose source is unchanged materializes nothing.

        Raises:
            ConfigError: the source's name cannot be a Dagster group name.
        """
        cfg = table.config
        if not _GROUP_RE.match(cfg.source):
            raise ConfigError(
                f"table {cfg.name!r}: source {cfg.source!r} cannot be a Dagster group name "
                "(only letters, digits and '_'); rename the source, or subclass "
                "DataLoaderTranslator and return an AssetSpec with another group_name"
            )
        tags = {
            key: value
            for key, value in ((TABLE_TAG, cfg.name), (SOURCE_TAG, cfg.source))
            # Asset tags are limited to 63 characters; longer names stay in the metadata
            # rather than being shortened.
            if _TAG_VALUE_RE.match(value)
        }
        return dg.AssetSpec(
            key=dg.AssetKey(list(cfg.target.parts)),
            group_name=cfg.source,
            kinds={KIND},
            skippable=True,
            tags=tags,
            description=(
                f"Delta table {cfg.target} loaded by dataloader-sdk from source "
                f"{cfg.source!r} ({cfg.source_object}) with the {cfg.strategy} strategy."
            ),
            metadata={
                "dagster/table_name": str(cfg.target),
                TABLE_TAG: cfg.name,
                SOURCE_TAG: cfg.source,
                "dataloader/strategy": cfg.strategy,
            },
        )


def check_unique_keys(
    tables: Sequence[TableRecord], specs: Sequence[dg.AssetSpec]
) -> None:
    """Refuse two tables whose specs share an asset key.

    Raises:
        ConfigError: naming every clash and both tables, and what to change.
    """
    seen: dict[dg.AssetKey, str] = {}
    clashes: list[str] = []
    for table, spec in zip(tables, specs, strict=True):
        other = seen.setdefault(spec.key, table.name)
        if other != table.name:
            clashes.append(f"{other!r} and {table.name!r} both map to {spec.key.to_user_string()}")
    if clashes:
        raise ConfigError(
            "two dataloader tables map to one Dagster asset key: " + "; ".join(clashes)
            + ". Give each table its own target, or override DataLoaderTranslator.get_asset_spec"
        )

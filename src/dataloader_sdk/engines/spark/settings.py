"""The Spark engine's settings, parsed once from :class:`EngineSettings`.

``EngineSettings`` is the engine-neutral shape every factory receives: a root and a
string map. For the spark engine the root selects path or catalog mode and the map holds
two engine options (not storage options: Spark takes storage credentials from its own
configuration). :meth:`SparkSettings.parse` turns them into typed fields at this boundary,
so no string option travels further into the engine.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from dataloader_sdk.engines.base import EngineSettings
from dataloader_sdk.errors import ConfigError

__all__ = ["CATALOG_ROOT_PREFIX", "DEFAULT_INLINE_LIMIT", "OPTION_NAMES", "SparkSettings"]

log = logging.getLogger(__name__)

#: ``EngineSettings.root`` starting with this selects catalog mode (``uc:`` or ``uc:main``).
CATALOG_ROOT_PREFIX = "uc:"
#: Arrow bytes of a step kept in driver memory before it is spilled as Parquet.
DEFAULT_INLINE_LIMIT = 64 * 1024 * 1024
#: The keys of ``EngineSettings.storage_options`` the spark engine reads.
OPTION_NAMES = ("staging_dir", "inline_limit_mb")
_MIB = 1024 * 1024


@dataclass(frozen=True)
class SparkSettings:
    """Where and how the Spark engine writes.

    Attributes:
        root: directory or URI of path tables (``""`` in catalog mode).
        catalog_mode: address tables as ``catalog.schema.table`` instead of paths.
        default_catalog: catalog for targets without one (catalog mode); ``None``: the
            session's current catalog.
        staging_dir: where big Arrow steps are spilled as Parquet (visible to driver and
            executors); ``None``: no spilling.
        inline_limit_bytes: Arrow bytes kept in memory before spilling.
    """

    root: str = ""
    catalog_mode: bool = False
    default_catalog: str | None = None
    staging_dir: str | None = None
    inline_limit_bytes: int = DEFAULT_INLINE_LIMIT

    def __post_init__(self) -> None:
        if not self.catalog_mode and not self.root:
            raise ConfigError("engine spark: give a root directory, or catalog_mode=True")
        if self.inline_limit_bytes < 0:
            raise ConfigError(
                f"engine spark: inline_limit_bytes must be 0 or more, got "
                f"{self.inline_limit_bytes}"
            )

    @property
    def default_staging_dir(self) -> str | None:
        """``staging_dir``, else ``root/_dl_staging`` for a local path root."""
        if self.staging_dir is not None:
            return self.staging_dir
        if self.catalog_mode or "://" in self.root:
            return None
        return str(Path(self.root) / "_dl_staging")

    @classmethod
    def parse(cls, settings: EngineSettings) -> SparkSettings:
        """The typed settings of ``settings`` (root ``uc:``/``uc:<catalog>``: catalog mode).

        ``settings.storage_options`` may hold ``staging_dir`` (a path) and
        ``inline_limit_mb`` (a whole number of MiB, 0 or more; empty: the default).

        Raises:
            ConfigError: the root is empty, or an option is malformed (the message names
                the option and the value it got).
        """
        if not settings.root:
            raise ConfigError("engine spark: settings.root must name a directory, URI or 'uc:'")
        options = settings.storage_options
        unknown = sorted(set(options) - set(OPTION_NAMES))
        if unknown:
            # Ignored, as always: Spark takes storage settings from its own configuration.
            log.warning("engine spark: ignoring storage_options %s (it reads only %s)",
                        ", ".join(unknown), ", ".join(OPTION_NAMES))
        inline = _inline_limit(options.get("inline_limit_mb"))
        staging = options.get("staging_dir") or None
        if settings.root.startswith(CATALOG_ROOT_PREFIX):
            catalog = settings.root[len(CATALOG_ROOT_PREFIX):] or None
            return cls(catalog_mode=True, default_catalog=catalog, staging_dir=staging,
                       inline_limit_bytes=inline)
        return cls(root=settings.root, staging_dir=staging, inline_limit_bytes=inline)


def _inline_limit(text: str | None) -> int:
    if not text:
        return DEFAULT_INLINE_LIMIT
    try:
        mib = int(text)
    except ValueError:
        mib = -1
    if mib < 0:
        raise ConfigError(
            f"engine spark: storage_options['inline_limit_mb'] must be a whole number of "
            f"MiB, 0 or more; got {text!r}"
        )
    return mib * _MIB

"""Dropping a path table: only local directories, where "drop" has one meaning."""

from __future__ import annotations

import shutil
from pathlib import Path

from dataloader_sdk.errors import ConfigError
from dataloader_sdk.model import TargetName

__all__ = ["drop_local_table"]


def drop_local_table(target: TargetName, location: str) -> bool:
    """Delete the Delta table directory at ``location``; ``False`` if there was none.

    Raises:
        ConfigError: ``location`` is an object-store URI: dropping there needs the store's
            own tools and permissions (and its own retention rules), so the SDK refuses.
    """
    path = location.removeprefix("file://")
    if "://" in path:
        raise ConfigError(
            f"table {target}: cannot drop {location} from here (object store); delete it "
            "with your storage tools, or reset without --drop-target (the next run then "
            "replaces the table's content)"
        )
    directory = Path(path)
    if not directory.exists():
        return False
    shutil.rmtree(directory)
    return True

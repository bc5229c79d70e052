"""OpenLineage run events for every table run (optional extra ``openlineage``).

Switch it on for every loader of a project with ``openlineage = true`` in
``dataloader.toml`` (or ``DATALOADER_OPENLINEAGE=1``), or per loader in code::

    from dataloader_sdk import DataLoader, Settings
    from dataloader_sdk.integrations.openlineage import enable_openlineage

    loader = DataLoader.from_settings(Settings.load())
    enable_openlineage(loader)          # configured by OPENLINEAGE_URL / openlineage.yml
    loader.load_table("orders")         # START, then COMPLETE or FAIL

See docs/openlineage.md. Importing this package imports no OpenLineage code; the client
is imported when the first event is sent.
"""

from __future__ import annotations

from dataloader_sdk.integrations.openlineage.observer import (
    DEFAULT_NAMESPACE,
    OpenLineageObserver,
    enable_openlineage,
    observe_settings,
    require_client,
)

__all__ = [
    "DEFAULT_NAMESPACE",
    "OpenLineageObserver",
    "enable_openlineage",
    "observe_settings",
    "require_client",
]
